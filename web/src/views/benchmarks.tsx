// The plot `catena bench cot` writes (docs/benchmarks-cot.svg), bundled with the app as of its build.
import cotPlot from '../../../docs/benchmarks-cot.svg';

export function Benchmarks() {
  return (
    <section aria-labelledby="bench-title">
      <h2 id="bench-title">Benchmarks</h2>
      <p>
        Building a chain of trust: time against CoT size, as <code>catena bench cot</code> last plotted it for this
        build (docs/benchmarks.md has the method and the other figures; run{' '}
        <code>catena bench cot --plot FILE.svg</code> for a fresh one).
      </p>
      <img
        class="plot"
        src={cotPlot}
        alt="catena bench cot: time to build a chain against its size, local and remote links, with the fitted per-element cost"
      />
    </section>
  );
}
