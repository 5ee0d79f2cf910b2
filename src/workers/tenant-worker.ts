// A tenant: a web worker that replays its traffic (generated from its seed, or its share of a
// trace) and sends each request straight to the engine worker over a MessageChannel port. The page
// only starts, pauses and stops it (comlink); requests never pass through the page.
import * as Comlink from 'comlink';
import { Replayer, tenantSchedule, type TenantSpec } from '../lab/tenant-traffic.js';

export interface TenantWorkerApi {
  /** Builds the schedule and starts sending at once; returns the number of requests scheduled. */
  start(spec: TenantSpec, port: MessagePort): number;
  pause(): void;
  resume(): void;
  /** Stops sending and closes the port. */
  stop(): void;
  /** Requests sent so far. */
  sent(): number;
}

let replayer: Replayer | undefined;
let out: MessagePort | undefined;

const api: TenantWorkerApi = {
  start(spec, port) {
    replayer?.stop();
    out?.close();
    out = port;
    const schedule = tenantSchedule(spec);
    replayer = new Replayer(spec, schedule, (m) => port.postMessage(m, [m.prompt.buffer]));
    replayer.start();
    return schedule.arrival.length;
  },
  pause: () => replayer?.pause(),
  resume: () => replayer?.resume(),
  stop() {
    replayer?.stop();
    out?.close();
    out = undefined;
  },
  sent: () => replayer?.sent ?? 0,
};

Comlink.expose(api);
