package search_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/codec/kmeans"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/internal/searchtest"
)

// The PLAID-vs-exhaustive benchmark runs on a synthetic clustered collection
// sized by environment variables (defaults keep `make bench` short):
//
//	COLBERT_BENCH_TOKENS    tokens in the collection (default 200000)
//	COLBERT_BENCH_QUERIES   queries of 32 vectors (default 20)
//	COLBERT_BENCH_CENTROIDS K (default ColBERT's rule for the token count)
//	COLBERT_BENCH_NBITS     residual bits (default 2)
//	COLBERT_BENCH_REPS      repetitions; each query's latency is its fastest
//	                        repetition (default 1; the machine is shared)
//	COLBERT_BENCH_INDEX     on-disk index directory (codec/index), built on
//	                        first use and reused by later runs (with
//	                        DIR.queries.f32); default a temporary directory
//	COLBERT_BENCH_DUMP      directory receiving the raw embeddings, queries,
//	                        exhaustive top-10, the PLAID sweep (CSV) and its
//	                        latency/recall curve (PNG), for the faiss peer
//	COLBERT_BENCH_SWEEP_CSV file receiving BenchmarkPLAIDDefaults' sweep
//
// Every query runs alone on one goroutine, so ms/query is single-thread
// latency.
const benchDim = 128

type benchData struct {
	ix      *index.Index
	s       *search.Searcher
	queries [][]float32
	truth   [][]search.Hit // exhaustive top-10
	exLat   time.Duration  // median exhaustive latency
	dump    string
}

var (
	benchOnce sync.Once
	bench     *benchData
	benchErr  error
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func loadBench(b *testing.B) *benchData {
	benchOnce.Do(func() { bench, benchErr = buildBench(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

func buildBench(b *testing.B) (*benchData, error) {
	tokens := envInt("COLBERT_BENCH_TOKENS", 200000)
	nqueries := envInt("COLBERT_BENCH_QUERIES", 20)
	k := envInt("COLBERT_BENCH_CENTROIDS", kmeans.NumCentroids(tokens))
	nbits := envInt("COLBERT_BENCH_NBITS", 2)
	d := &benchData{dump: os.Getenv("COLBERT_BENCH_DUMP")}
	dir := os.Getenv("COLBERT_BENCH_INDEX")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "plaid-bench-")
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(tmp, "idx") // files stay mapped after removal
		defer os.RemoveAll(tmp)
	}
	qfile := dir + ".queries.f32"
	_, errM := os.Stat(filepath.Join(dir, "manifest.json"))
	_, errQ := os.Stat(qfile)
	built := false
	if errM != nil || errQ != nil {
		const minLen, maxLen = 20, 120
		passages := tokens / ((minLen + maxLen) / 2)
		topics := max(2, passages/70) // each topic shared by ~210 passages
		t0 := time.Now()
		coll := searchtest.Synthesize(searchtest.SynthOptions{
			Passages: passages, Dim: benchDim, Topics: topics, WordsPerTopic: max(1, 4*k/topics), // ~4 words per centroid
			MinLen: minLen, MaxLen: maxLen, TopicsPerPassage: 3, TokenNoise: 0.8, Seed: 42,
		})
		d.queries = coll.Queries(nqueries, 32, 43)
		b.Logf("synthesized %d passages, %d tokens, %d topics × %d words in %v", passages, len(coll.Vecs)/benchDim, topics, max(1, 4*k/topics), time.Since(t0))
		if d.dump != "" {
			if err := dumpCollection(d.dump, coll, d.queries); err != nil {
				return nil, err
			}
		}
		t0 = time.Now()
		_, err := index.Build(context.Background(), dir, coll, index.BuildOptions{
			Dim: benchDim, NBits: nbits, NumCentroids: k, Seed: 7, Checkpoint: "synthetic", Overwrite: true}, nil)
		if err != nil {
			return nil, err
		}
		b.Logf("built %s in %v", dir, time.Since(t0))
		var qs []float32
		for _, q := range d.queries {
			qs = append(qs, q...)
		}
		if err := writeRaw(qfile, qs); err != nil {
			return nil, err
		}
		built = true
	} else {
		raw, err := os.ReadFile(qfile)
		if err != nil {
			return nil, err
		}
		per := 32 * benchDim
		for i := 0; i+per*4 <= len(raw); i += per * 4 {
			q := make([]float32, per)
			if _, err := binary.Decode(raw[i:i+per*4], binary.LittleEndian, q); err != nil {
				return nil, err
			}
			d.queries = append(d.queries, q)
		}
	}
	ix, err := index.Open(dir, index.OpenOptions{SkipVerify: true})
	if err != nil {
		return nil, err
	}
	s, err := search.NewSearcher(ix)
	if err != nil {
		ix.Close()
		return nil, err
	}
	d.ix, d.s = ix, s
	m := ix.Manifest()
	var disk int64
	for _, f := range m.Files {
		disk += f.Size
	}
	b.Logf("index: %d passages, %d tokens, K=%d, %d-bit, %.1f MB on disk", m.NumPassages, m.NumEmbeddings, m.NumCentroids, m.NBits, float64(disk)/1e6)
	reps := envInt("COLBERT_BENCH_REPS", 1)
	lat := make([]time.Duration, len(d.queries))
	d.truth = make([][]search.Hit, len(d.queries))
	for rep := 0; rep < reps; rep++ {
		for qi, q := range d.queries {
			t0 := time.Now()
			hits, err := d.s.Exhaustive(q, benchDim, 10)
			if err != nil {
				return nil, err
			}
			if el := time.Since(t0); rep == 0 || el < lat[qi] {
				lat[qi] = el
			}
			d.truth[qi] = hits
		}
	}
	d.exLat = median(lat)
	if !built {
		b.Logf("process RSS after opening the mmapped index and an exhaustive pass: %.1f MB (index %.1f MB on disk)", rssMB(), float64(disk)/1e6)
	}
	if d.dump != "" {
		f, err := os.Create(filepath.Join(d.dump, "exhaustive_top10.tsv"))
		if err != nil {
			return nil, err
		}
		for qi, hits := range d.truth {
			for r, h := range hits {
				fmt.Fprintf(f, "%d\t%d\t%d\t%.7g\n", qi, r+1, h.PID, h.Score)
			}
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// rssMB reads the resident set size from /proc (0 where unavailable).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

func writeRaw(path string, data any) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := binary.Write(f, binary.LittleEndian, data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// dumpCollection writes little-endian raw arrays for the Python peers:
// vectors.f32 (tokens×128), doclens.i32, queries.f32 (n×32×128).
func dumpCollection(dir string, c *searchtest.Collection, queries [][]float32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, data any) error { return writeRaw(filepath.Join(dir, name), data) }
	lens := make([]int32, len(c.Doclens))
	for i, l := range c.Doclens {
		lens[i] = int32(l)
	}
	var qs []float32
	for _, q := range queries {
		qs = append(qs, q...)
	}
	for name, data := range map[string]any{"vectors.f32": c.Vecs, "doclens.i32": lens, "queries.f32": qs} {
		if err := write(name, data); err != nil {
			return err
		}
	}
	return nil
}

type sweepPoint struct {
	p       search.Params
	ms      float64
	recall  float64
	cands   float64
	speedup float64
}

// median is robust to the other jobs sharing this machine's cores.
func median(lat []time.Duration) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)/2]
}

// runPLAID answers every query once, sequentially: median latency, mean
// recall@10 against exhaustive.
func runPLAID(d *benchData, p search.Params) (sweepPoint, error) {
	lat := make([]time.Duration, len(d.queries))
	var recall, cands float64
	reps := envInt("COLBERT_BENCH_REPS", 1)
	for rep := 0; rep < reps; rep++ {
		for qi, q := range d.queries {
			t0 := time.Now()
			hits, tr, err := d.s.SearchTrace(q, benchDim, p)
			if el := time.Since(t0); rep == 0 || el < lat[qi] {
				lat[qi] = el
			}
			if err != nil {
				return sweepPoint{}, err
			}
			if rep == 0 {
				recall += recallAt(hits, d.truth[qi])
				cands += float64(tr.Candidates)
			}
		}
	}
	n := float64(len(d.queries))
	ms := median(lat).Seconds() * 1000
	return sweepPoint{p: p, ms: ms, recall: recall / n, cands: cands / n, speedup: d.exLat.Seconds() * 1000 / ms}, nil
}

func BenchmarkExhaustive(b *testing.B) {
	d := loadBench(b)
	for b.Loop() {
		for _, q := range d.queries {
			if _, err := d.s.Exhaustive(q, benchDim, 10); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N*len(d.queries)), "ms/query")
	b.ReportMetric(d.exLat.Seconds()*1000, "p50-ms/query")
	b.ReportMetric(float64(d.ix.NumEmbeddings()), "tokens")
}

func BenchmarkPLAID(b *testing.B) {
	d := loadBench(b)
	for _, k := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			var pt sweepPoint
			var err error
			for b.Loop() {
				if pt, err = runPLAID(d, search.DefaultParams(k)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(pt.ms, "p50-ms/query")
			b.ReportMetric(pt.recall, "recall@10")
			b.ReportMetric(pt.speedup, "x-vs-exhaustive")
			b.ReportMetric(pt.cands, "candidates")
		})
	}
}

// BenchmarkPLAIDSweep measures the latency/recall trade-off over ncells,
// ndocs and threshold at k=10, logs every point and, with
// COLBERT_BENCH_DUMP, writes plaid_sweep.csv and plaid_curve.png.
func BenchmarkPLAIDSweep(b *testing.B) {
	d := loadBench(b)
	var pts []sweepPoint
	for b.Loop() {
		pts = pts[:0]
		for _, nc := range []int{1, 2, 4, 8} {
			for _, nd := range []int{64, 256, 1024, 4096} {
				for _, thr := range []float32{0.3, 0.4, 0.5, 0.6} {
					pt, err := runPLAID(d, search.Params{K: 10, NCells: nc, NDocs: nd, Threshold: new(thr)})
					if err != nil {
						b.Fatal(err)
					}
					pts = append(pts, pt)
				}
			}
		}
	}
	b.Logf("exhaustive: p50 %.2f ms/query over %d tokens", d.exLat.Seconds()*1000, d.ix.NumEmbeddings())
	for _, pt := range pts {
		b.Logf("ncells=%d ndocs=%d threshold=%.2f: p50 %.3f ms/query, recall@10 %.3f, %.0f× vs exhaustive, %.0f candidates",
			pt.p.NCells, pt.p.NDocs, pt.p.EffectiveThreshold(), pt.ms, pt.recall, pt.speedup, pt.cands)
	}
	if d.dump != "" {
		if err := writeSweep(d, pts); err != nil {
			b.Fatal(err)
		}
	}
}

func writeSweep(d *benchData, pts []sweepPoint) error {
	f, err := os.Create(filepath.Join(d.dump, "plaid_sweep.csv"))
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "ncells,ndocs,threshold,ms_per_query,recall_at_10,speedup_vs_exhaustive,candidates,exhaustive_ms\n")
	for _, pt := range pts {
		fmt.Fprintf(f, "%d,%d,%.2f,%.4f,%.4f,%.2f,%.1f,%.3f\n", pt.p.NCells, pt.p.NDocs, pt.p.EffectiveThreshold(), pt.ms, pt.recall, pt.speedup, pt.cands, d.exLat.Seconds()*1000)
	}
	if err := f.Close(); err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("PLAID k=10, %d tokens (exhaustive p50 %.0f ms/query)", d.ix.NumEmbeddings(), d.exLat.Seconds()*1000)
	p.X.Label.Text = "median latency per query (ms, log)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{}
	p.Y.Label.Text = "recall@10 vs exhaustive"
	p.Legend.Top, p.Legend.Left = false, false
	colors := []color.RGBA{{200, 30, 30, 255}, {30, 120, 200, 255}, {30, 160, 60, 255}, {150, 60, 180, 255}}
	for i, nc := range []int{1, 2, 4, 8} {
		var xy plotter.XYs
		for _, pt := range pts {
			if pt.p.NCells == nc {
				xy = append(xy, plotter.XY{X: math.Max(pt.ms, 1e-3), Y: pt.recall})
			}
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = colors[i]
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("ncells=%d", nc), sc)
	}
	return p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(d.dump, "plaid_curve.png"))
}

// oldDefault10 is DefaultParams(10) before issue 20 (ColBERT's k ≤ 10
// setting), the latency baseline of BenchmarkPLAIDDefaults.
func oldDefault10() search.Params {
	return search.Params{K: 10, NCells: 1, Threshold: new(float32(0.5)), NDocs: 256}
}

// defaultsPoint is one setting of BenchmarkPLAIDDefaults.
type defaultsPoint struct {
	p         search.Params
	lat       []time.Duration // per query, fastest repetition
	recall    float64         // mean recall@10 against exhaustive
	minRecall float64         // worst query
	recall20  float64         // over the first 20 queries (the earlier runs' query set)
	cands     float64         // mean stage-1 candidates
	ms, p90   float64         // median and 90th percentile of lat, ms
	ratio     float64         // ms over the old default's ms
}

// sweepBlock is the number of queries sweepDefaults runs under one setting
// before moving to the next: few enough that every setting's pass over a
// block lasts well under a second (a burst of the other jobs sharing the
// machine then slows all settings alike), enough that a query's own data
// has left the caches before the next setting runs it.
const sweepBlock = 10

// sweepDefaults measures every setting on every query reps times,
// interleaved (repetition → block of sweepBlock queries → setting → query,
// the settings' order rotated by one each repetition) so that the other
// jobs sharing the machine slow all settings alike; each query's latency
// is its fastest repetition. Recall comes from the first repetition (PLAID
// is deterministic).
func sweepDefaults(d *benchData, settings []search.Params, reps int) ([]defaultsPoint, error) {
	pts := make([]defaultsPoint, len(settings))
	for i, p := range settings {
		pts[i] = defaultsPoint{p: p, lat: make([]time.Duration, len(d.queries)), minRecall: 1}
	}
	for rep := 0; rep < reps; rep++ {
		for b0 := 0; b0 < len(d.queries); b0 += sweepBlock {
			for j := range pts {
				pt := &pts[(j+rep)%len(pts)]
				for qi := b0; qi < min(b0+sweepBlock, len(d.queries)); qi++ {
					q := d.queries[qi]
					t0 := time.Now()
					hits, tr, err := d.s.SearchTrace(q, benchDim, pt.p)
					el := time.Since(t0)
					if err != nil {
						return nil, err
					}
					if rep == 0 || el < pt.lat[qi] {
						pt.lat[qi] = el
					}
					if rep == 0 {
						r := recallAt(hits, d.truth[qi])
						pt.recall += r
						pt.minRecall = min(pt.minRecall, r)
						if qi < 20 {
							pt.recall20 += r
						}
						pt.cands += float64(tr.Candidates)
					}
				}
			}
		}
	}
	n := float64(len(d.queries))
	for i := range pts {
		pt := &pts[i]
		pt.recall /= n
		pt.recall20 /= float64(min(20, len(d.queries)))
		pt.cands /= n
		s := slices.Clone(pt.lat)
		slices.Sort(s)
		pt.ms = s[len(s)/2].Seconds() * 1000
		pt.p90 = s[len(s)*9/10].Seconds() * 1000
	}
	return pts, nil
}

// BenchmarkPLAIDDefaults is the sweep that chose DefaultParams for k ≤ 10
// (issue 20: recall@10 ≥ 0.95 against exhaustive search at ≤ 2× the old
// default's latency): ncells {1, 2} × ndocs {256 … 1024} × threshold
// {0.4, 0.45, 0.5} at k = 10, plus the current DefaultParams(10), all in one
// process (sweepDefaults; COLBERT_BENCH_REPS repetitions, at least 3). It
// logs every point with its p50 latency, recall@10 and ratio to the old
// default's (ncells 1, threshold 0.5, ndocs 256) p50, and the fastest
// setting that meets the target; COLBERT_BENCH_SWEEP_CSV names a CSV file
// to write (e.g. search/benchresults/plaid_defaults_k10_5M.csv).
func BenchmarkPLAIDDefaults(b *testing.B) {
	d := loadBench(b)
	settings := []search.Params{oldDefault10(), search.DefaultParams(10)}
	for _, nc := range []int{1, 2} {
		for _, nd := range []int{256, 384, 512, 768, 1024} {
			for _, thr := range []float32{0.4, 0.45, 0.5} {
				settings = append(settings, search.Params{K: 10, NCells: nc, NDocs: nd, Threshold: new(thr)})
			}
		}
	}
	reps := max(3, envInt("COLBERT_BENCH_REPS", 3))
	var pts []defaultsPoint
	for b.Loop() {
		var err error
		if pts, err = sweepDefaults(d, settings, reps); err != nil {
			b.Fatal(err)
		}
	}
	base := pts[0].ms
	best := -1
	for i := range pts {
		pt := &pts[i]
		pt.ratio = pt.ms / base
		meets := pt.recall >= 0.95 && pt.ratio <= 2
		if i >= 2 && meets && (best < 0 || pt.ms < pts[best].ms) {
			best = i
		}
	}
	b.Logf("%d queries, %d repetitions; exhaustive p50 %.2f ms/query over %d tokens, K=%d",
		len(d.queries), reps, d.exLat.Seconds()*1000, d.ix.NumEmbeddings(), d.ix.Manifest().NumCentroids)
	for i, pt := range pts {
		tag := ""
		switch {
		case i == 0:
			tag = " (old default)"
		case i == 1:
			tag = " (DefaultParams(10))"
		case i == best:
			tag = " (fastest meeting the target)"
		}
		b.Logf("ncells=%d ndocs=%d threshold=%.2f: p50 %.3f ms (p90 %.3f), %.2f× old, recall@10 %.4f (min %.1f, first 20 %.3f), %.0f candidates%s",
			pt.p.NCells, pt.p.NDocs, pt.p.EffectiveThreshold(), pt.ms, pt.p90, pt.ratio, pt.recall, pt.minRecall, pt.recall20, pt.cands, tag)
	}
	b.ReportMetric(pts[1].ms, "default-p50-ms")
	b.ReportMetric(pts[1].recall, "default-recall@10")
	b.ReportMetric(pts[1].ratio, "default-x-old")
	if path := os.Getenv("COLBERT_BENCH_SWEEP_CSV"); path != "" {
		if err := writeDefaultsCSV(path, d, pts); err != nil {
			b.Fatal(err)
		}
	}
}

// writeDefaultsCSV writes BenchmarkPLAIDDefaults' points, the old default
// first and DefaultParams(10) second, as plaid_defaults_k10_5M.csv has them.
func writeDefaultsCSV(path string, d *benchData, pts []defaultsPoint) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "setting,ncells,ndocs,threshold,p50_ms,p90_ms,ratio_to_old_default,recall_at_10,min_recall_at_10,recall_at_10_first20,candidates,queries,exhaustive_p50_ms")
	for i, pt := range pts {
		name := "sweep"
		switch i {
		case 0:
			name = "old_default"
		case 1:
			name = "default"
		}
		fmt.Fprintf(f, "%s,%d,%d,%.2f,%.4f,%.4f,%.3f,%.4f,%.2f,%.4f,%.1f,%d,%.3f\n", name, pt.p.NCells, pt.p.NDocs,
			pt.p.EffectiveThreshold(), pt.ms, pt.p90, pt.ratio, pt.recall, pt.minRecall, pt.recall20, pt.cands,
			len(d.queries), d.exLat.Seconds()*1000)
	}
	return f.Close()
}
