// Named scenarios: configs registered under a name, so that `lab sim <name>` and the UI's presets
// run them like a config file. The registry starts empty; scenario modules call
// registerScenario() when they are imported (the CLI imports them before resolving a name).
import type { SimConfig } from './config.js';

export interface Scenario {
  name: string;
  /** One line for listings. */
  title: string;
  /** Builds the config (a function, so a scenario can size itself or take a reduced size). */
  config: (options?: { reduced?: boolean }) => SimConfig;
}

const registry = new Map<string, Scenario>();

export function registerScenario(s: Scenario): void {
  if (registry.has(s.name)) throw new Error(`scenario '${s.name}' is registered twice`);
  registry.set(s.name, s);
}

export function findScenario(name: string): Scenario | undefined {
  return registry.get(name);
}

export function listScenarios(): Scenario[] {
  return [...registry.values()];
}
