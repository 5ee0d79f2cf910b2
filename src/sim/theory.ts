// Closed forms for the textbook queues the simulator is checked against (FCFS, infinite queue,
// Poisson arrivals at rate λ, c identical servers, mean service S, load ρ = λS/c < 1):
// - M/M/c: Erlang C, Wq = C(c, λS) · S / (c − λS).
// - M/G/1 (Pollaczek–Khinchine): Wq = λ E[S²] / (2(1 − ρ)); M/D/1 is E[S²] = S², M/M/1 is 2S².
// - M/D/c has no simple closed form: Cosmetatos' approximation Wq(M/D/c) ≈ Wq(M/M/c)/2 · (1 + f)
//   is given, labelled as an approximation (exact for c = 1).

export interface QueueTheory {
  /** Kendall notation, e.g. "M/M/4". */
  model: string;
  exact: boolean;
  servers: number;
  arrivalRate: number;
  meanServiceS: number;
  /** Per-server utilization ρ = λS/c. */
  utilization: number;
  /** Mean wait in queue, s. */
  waitS: number;
  /** Mean time in system (wait + service), s. */
  timeInSystemS: number;
  /** Probability an arrival waits (Erlang C for M/M/c). */
  probWait?: number;
}

/** Erlang C: probability an arrival waits, for c servers at offered load a = λS (a < c). */
export function erlangC(c: number, a: number): number {
  if (!(a < c)) return 1;
  // Erlang B by the stable recursion, then C = B / (1 − (a/c)(1 − B)).
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return b / (1 - (a / c) * (1 - b));
}

export function mmc(c: number, lambda: number, meanS: number): QueueTheory {
  const a = lambda * meanS;
  const rho = a / c;
  const pw = erlangC(c, a);
  const waitS = rho < 1 ? (pw * meanS) / (c - a) : Infinity;
  return { model: `M/M/${c}`, exact: true, servers: c, arrivalRate: lambda, meanServiceS: meanS, utilization: rho, waitS, timeInSystemS: waitS + meanS, probWait: pw };
}

/** M/G/1 by Pollaczek–Khinchine, from the service time's mean and squared coefficient of variation. */
export function mg1(lambda: number, meanS: number, scv: number, name = 'M/G/1'): QueueTheory {
  const rho = lambda * meanS;
  const es2 = (1 + scv) * meanS * meanS;
  const waitS = rho < 1 ? (lambda * es2) / (2 * (1 - rho)) : Infinity;
  return { model: name, exact: true, servers: 1, arrivalRate: lambda, meanServiceS: meanS, utilization: rho, waitS, timeInSystemS: waitS + meanS };
}

export function md1(lambda: number, meanS: number): QueueTheory {
  return mg1(lambda, meanS, 0, 'M/D/1');
}

/** M/D/c: exact for c = 1 (P–K), else Cosmetatos' approximation. */
export function mdc(c: number, lambda: number, meanS: number): QueueTheory {
  if (c === 1) return md1(lambda, meanS);
  const m = mmc(c, lambda, meanS);
  const rho = m.utilization;
  const f = (1 - rho) * (c - 1) * (Math.sqrt(4 + 5 * c) - 2) / (16 * rho * c);
  const waitS = (m.waitS / 2) * (1 + f);
  return { ...m, model: `M/D/${c}`, exact: false, waitS, timeInSystemS: waitS + meanS, probWait: undefined };
}

export function queueTheory(c: number, lambda: number, meanS: number, service: 'exponential' | 'deterministic'): QueueTheory {
  return service === 'exponential' ? mmc(c, lambda, meanS) : mdc(c, lambda, meanS);
}
