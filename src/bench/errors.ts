import { CatenaError } from '../errors.ts';

/**
 * Benchmark errors. ERR_BENCH_VECTORS: the shared vectors folder is missing; ERR_BENCH_RESULT: a
 * verifier gave another result than the known one (a benchmark of a failing check measures nothing);
 * ERR_BENCH_ARGUMENT: an option out of range; ERR_BENCH_DEPENDENCY: dcap-qvl (a devDependency) is absent.
 */
export class BenchError extends CatenaError {}
