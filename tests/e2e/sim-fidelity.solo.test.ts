// Fidelity (issue 5's acceptance): on the same device, a live run of a trace and the simulator,
// with the step-time model calibrated from another live run, agree on throughput and mean TTFT.
// The test prints both.
//
// Live: the Engine over GpuBackend (Dawn; SwiftShader where there is no GPU) with a small
// synthetic model, replaying generated traces as they would arrive (requests submitted at their
// arrival times). Simulated: one server running the same scheduler config on the same evaluation
// trace (same arrivals, prompt and output lengths; EOS is off live, so every request produces
// exactly its output tokens in both worlds). The harness is tests/e2e/fidelity-harness.ts.
//
// Time and busy time, measured the same way in both runs:
// - A step's busy time is its occupancy of the server: from planning it to planning the next one
//   when they follow each other (else to its completion). That is what delays the requests behind
//   it, and on SwiftShader it is mostly CPU work that GPU timestamps do not see (encoding,
//   readback).
// - The clock is this process's CPU time (all its threads: JS, Dawn, SwiftShader's), not the wall
//   clock: on this machine the "GPU" is two CPU cores shared with whatever else runs (other test
//   files beside this one), and the wall clock would time their work too, at random. Waiting for
//   an arrival spins on that clock. FIDELITY_CLOCK=wall runs it on the wall clock instead.
//
// Made robust for a two-core machine whose "GPU" is its CPU:
// - This file runs alone ('solo' project, after every other suite: vitest.config.ts): other test
//   files on the same two cores made SwiftShader's step times drift by 10-30% between the
//   calibration and the evaluation parts.
// - A warm-up burst compiles the pipelines first (compiling is not a step time).
// - The calibration run and the evaluation run are each played in six parts, alternately (cal 1,
//   eval 1, ..., cal 6, eval 6), so both sample the machine over the same stretch of time; the
//   fit uses every calibration step (~1,200).
// - The calibration traffic is varied: Poisson at a rate stepping through 20% to 120% of the
//   capacity a pilot burst estimates (batches from 1 to full, prefills alone and together).
// - The evaluation load is 40% of the capacity at full batch that the first calibration part's
//   fit gives (a fit on ~200 steps of every shape: far steadier than the pilot's). On this
//   machine that keeps the server ~80-90% of the time busy at 2.5-3.5 sequences a step: the
//   engine batches, and the mean TTFT, mostly the wait for the step in flight plus the prefill
//   step, is not dominated by queueing near saturation, where it would hinge on a few percent of
//   speed.
// - Step times on such a machine vary a lot around the fit (MAPE ~30%): the model keeps that
//   spread (calibrateStepTime's `noise`: the wait for a step in flight grows with E[S²]/E[S]),
//   and the simulator's figure is its mean over 16 seeds of those draws.
//
// Tolerances: the issue's, 10% for both. Measured in this design (runs beside other work, before
// it ran solo): throughput within 2%, mean TTFT within −8% to +3% in 7 of 8 runs, one at −25% with
// a browser benchmark running beside it; the solo figures are in the closing note of issue 5.
import { expect } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';
import { table } from '../../src/sim/index.js';
import { runFidelity } from './fidelity-harness.js';

/** The issue's acceptance: both figures within 10%. */
const TARGET = 0.1;

gpuTest(
  'a live run and the simulator calibrated from another live run agree on throughput and mean TTFT within 10%',
  async (gpu, res) => {
    const f = await runFidelity(gpu, (r) => res.track(r));
    const pct = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%`;
    const fit = f.fit;
    const factors = fit.noise?.factors ?? [1];
    const within = (v: number) => (Math.abs(v) <= TARGET ? 'yes' : 'NO');
    console.log(
      [
        `fidelity on ${gpu.adapter.description || `${gpu.adapter.vendor} ${gpu.adapter.architecture}`}, ${f.clock === 'cpu' ? "on this process's CPU-time clock" : 'on the wall clock'}: ` +
          `${f.live.requests} evaluation requests in ${f.parts} parts at ${f.rate.toFixed(1)} requests/s (${100 * f.load}% of the estimated capacity), ` +
          `mean live batch ${f.live.meanBatch.toFixed(2)}; the live runs took ${f.liveSeconds.toFixed(1)} s of wall time`,
        `calibration: ${fit.fit!.n} steps, R² ${fit.fit!.r2.toFixed(3)}, MAPE ${(100 * fit.fit!.mape).toFixed(1)}%: ` +
          `${(fit.a * 1e3).toFixed(2)} ms + ${(fit.b * 1e3).toFixed(3)} ms·decode + ${(fit.c * 1e3).toFixed(3)} ms·prefill + ${(fit.d * 1e6).toFixed(2)} µs·context` +
          `${fit.unidentified.length ? ` (unidentified: ${fit.unidentified.join(', ')})` : ''}; step-time factors ${factors[0]!.toFixed(2)}–${factors[factors.length - 1]!.toFixed(2)}×`,
        table(
          ['evaluation trace', 'live', `simulated (mean of ${f.sim.seeds} seeds)`, 'error', `within ${TARGET * 100}%`],
          [
            ['throughput (output tokens/s)', f.live.throughput.toFixed(1), f.sim.throughput.toFixed(1), pct(f.errors.throughput), within(f.errors.throughput)],
            ['mean TTFT', `${(f.live.meanTtft * 1e3).toFixed(1)} ms`, `${(f.sim.meanTtft * 1e3).toFixed(1)} ms`, pct(f.errors.meanTtft), within(f.errors.meanTtft)],
            ['steps', String(f.live.steps), String(f.sim.steps), '', ''],
          ],
        ),
      ].join('\n'),
    );
    expect(f.live.meanBatch).toBeGreaterThan(2); // the load batches
    expect(Math.abs(f.errors.throughput)).toBeLessThanOrEqual(TARGET);
    expect(Math.abs(f.errors.meanTtft)).toBeLessThanOrEqual(TARGET);
  },
  150_000,
);
