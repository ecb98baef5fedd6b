// Command loadgen drives a Firebreak over its ingest HTTP API with realistic
// mentions and reports throughput, latency to decision and to delivery, and
// the broker's own four-hop ceiling measured in the same run. By default it
// starts the whole stack in this process (embedded NATS, the five services,
// a webhook sink, the machine's Redis under a key prefix of its own).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/tools/load"
)

// options are the command's flags.
type options struct {
	ingestURL, escalationAddr      string
	airline, twitter               string
	redisURL                       string
	sync                           string
	rate                           float64
	rateDuration, fastDuration     time.Duration
	ceilingDuration, settle        time.Duration
	count, batch, workers, backlog int
	partitions, ceilingPartitions  int
	scale                          string
	apart                          bool
	binDir                         string
	jsonOut, htmlOut, cpuProfile   string
	rateCPUProfile                 string
	seed                           uint64
}

func main() { os.Exit(run()) }

func run() int {
	var o options
	flag.StringVar(&o.ingestURL, "ingest-url", "", "ingest's POST /v1/mentions of a running Firebreak (loopback only); empty starts one in this process")
	flag.StringVar(&o.escalationAddr, "escalation-addr", "127.0.0.1:9093", "escalation's gRPC address, with --ingest-url")
	flag.StringVar(&o.airline, "airline-csv", "../shared/data/airline-sentiment/train.csv", "airline sentiment CSV (texts)")
	flag.StringVar(&o.twitter, "twitter-csv", "../shared/data/customer-support-on-twitter/twcs-5000.csv", "customer support on Twitter CSV (texts and brand replies)")
	flag.StringVar(&o.redisURL, "redis-url", envOr("REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis for the in-process stack; own starts a redis-server for the run alone (no other client's commands in its Redis figures)")
	flag.StringVar(&o.sync, "sync", "both", "JetStream fsync for the in-process broker: always, default, or both (always first, then default, to price it)")
	flag.Float64Var(&o.rate, "rate", 1000, "mentions a second in the fixed-rate phase (0 skips it)")
	flag.DurationVar(&o.rateDuration, "rate-duration", 10*time.Second, "length of the fixed-rate phase")
	flag.DurationVar(&o.fastDuration, "fast-duration", 10*time.Second, "length of the as-fast-as-it-goes phase (0 skips it)")
	flag.DurationVar(&o.ceilingDuration, "ceiling-duration", 5*time.Second, "length of each broker ceiling measurement (0 skips them)")
	flag.IntVar(&o.partitions, "partitions", 4, "streams the in-process services split the mentions over (--mention-partitions; 1 is one mentions stream)")
	flag.IntVar(&o.ceilingPartitions, "ceiling-partitions", 0, "streams side by side in the best-layout ceiling (0: as --partitions; 1 measures only the single-stream layout)")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "longest wait for the last decisions of a phase")
	flag.IntVar(&o.count, "count", 200_000, "most mentions per phase")
	flag.IntVar(&o.batch, "batch", 1, "mentions per request in the fast phase")
	flag.IntVar(&o.workers, "workers", 64, "requests in flight at once (the rate phase's schedule never waits for them: a mention waiting for a free connection counts as latency)")
	flag.IntVar(&o.backlog, "max-backlog", 2000, "pipeline backlog the fast phase keeps below (in-process only)")
	flag.StringVar(&o.jsonOut, "json", "bin/load/summary.json", "machine-readable summary ('' for none)")
	flag.StringVar(&o.htmlOut, "html", "bin/load/report.html", "HTML report with latency plots ('' for none)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the fast phase (in-process: the whole stack) to this file")
	flag.StringVar(&o.rateCPUProfile, "rate-cpuprofile", "", "write a CPU profile of the fixed-rate phase (in-process: the whole stack) to this file")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated traffic")
	flag.StringVar(&o.scale, "scale", "", "replica counts to run the fast phase again with, each on a fresh in-process stack with the default sync, e.g. 1,2,4 ('' skips it)")
	flag.BoolVar(&o.apart, "apart", false, "run the fast phase once more with the default sync and each service as a process of its own, to report each service's CPU and peak RSS")
	flag.StringVar(&o.binDir, "bin-dir", "", "with --apart, the service binaries (`make build` puts them in bin/); empty builds them into a temporary directory")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	summary, err := bench(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		return 1
	}
	summary.WriteText(os.Stdout)
	if err := write(o, summary); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, o options) (*load.Summary, error) {
	corpus, err := load.ReadCorpus(o.airline, o.twitter)
	if err != nil {
		return nil, err
	}
	if o.redisURL == "own" && o.ingestURL == "" {
		url, stop, err := load.OwnRedis()
		if err != nil {
			return nil, err
		}
		defer stop()
		fmt.Fprintf(os.Stderr, "loadgen: a Redis of the run's own at %s\n", url)
		o.redisURL = url
	}
	s := &load.Summary{Started: time.Now(), CPUs: runtime.NumCPU(), LoadAverage: loadAverage()}
	if o.ingestURL != "" {
		r, err := external(ctx, o, corpus)
		if err != nil {
			return nil, err
		}
		s.Runs = append(s.Runs, r)
	} else {
		for _, always := range syncModes(o.sync) {
			r, err := local(ctx, o, corpus, always, len(s.Runs) == 0)
			if err != nil {
				return nil, err
			}
			s.Runs = append(s.Runs, r)
		}
		if s.Scale, err = scaleOut(ctx, o, corpus); err != nil {
			return nil, err
		}
		if s.Apart, err = apart(ctx, o, corpus); err != nil {
			return nil, err
		}
	}
	s.Compute()
	return s, nil
}

func syncModes(s string) []bool {
	switch s {
	case "always":
		return []bool{true}
	case "default":
		return []bool{false}
	}
	return []bool{true, false}
}

// local starts the stack in this process and runs the phases against it;
// only the first run is profiled.
func local(ctx context.Context, o options, corpus *load.Corpus, always, first bool) (r load.Run, err error) {
	r.SyncAlways, r.Partitions = always, max(o.partitions, 1)
	err = withLocal(ctx, o, load.LocalOptions{SyncAlways: always}, func(l *load.Local, t load.Target) error {
		if o.ceilingDuration > 0 {
			if r.CeilingSingle, r.Ceiling, err = ceilings(ctx, l, o); err != nil {
				return err
			}
		}
		r.Phases, err = phases(ctx, o, corpus, t, first)
		return err
	})
	return r, err
}

// scaleOut runs the fast phase with each replica count in --scale, on a
// fresh stack each time, and checks the cases stream for mentions decided
// twice.
func scaleOut(ctx context.Context, o options, corpus *load.Corpus) ([]load.Scale, error) {
	counts, err := replicaCounts(o.scale)
	if err != nil || len(counts) == 0 || o.fastDuration <= 0 {
		return nil, err
	}
	var out []load.Scale
	for _, n := range counts {
		err := withLocal(ctx, o, load.LocalOptions{Replicas: n}, func(l *load.Local, t load.Target) error {
			gen := load.NewGenerator(corpus, mix(o, fmt.Sprintf("scale%d-%d", n, time.Now().UnixNano())))
			fmt.Fprintf(os.Stderr, "loadgen: fast phase with %d replica(s) of every service for %s\n", n, o.fastDuration)
			p, err := load.RunPhase(ctx, t, gen, fastSpec(o, fmt.Sprintf("fast x%d", n)))
			if err != nil {
				return fmt.Errorf("fast phase with %d replicas: %w", n, err)
			}
			js, err := jetstream.New(l.NC)
			if err != nil {
				return fmt.Errorf("JetStream for the exactly-once check: %w", err)
			}
			once, err := load.CheckOnce(ctx, js, t.Names)
			if err != nil {
				return fmt.Errorf("exactly-once check with %d replicas: %w", n, err)
			}
			out = append(out, load.Scale{Replicas: n, Phase: p, Once: once})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// apart runs the fast phase with each service in a process of its own, so
// that each one's CPU and peak RSS is its own (--apart).
func apart(ctx context.Context, o options, corpus *load.Corpus) (*load.Phase, error) {
	if !o.apart || o.fastDuration <= 0 {
		return nil, nil
	}
	lo := load.LocalOptions{Apart: true, BinDir: o.binDir}
	if lo.BinDir == "" {
		dir, err := os.MkdirTemp("", "firebreak-bin-")
		if err != nil {
			return nil, fmt.Errorf("directory for the service binaries: %w", err)
		}
		defer os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "loadgen: building the services to run them apart")
		if lo.BinDir, err = load.BuildServices(ctx, dir); err != nil {
			return nil, err
		}
	}
	var out *load.Phase
	err := withLocal(ctx, o, lo, func(l *load.Local, t load.Target) error {
		gen := load.NewGenerator(corpus, mix(o, fmt.Sprintf("apart-%d", time.Now().UnixNano())))
		fmt.Fprintf(os.Stderr, "loadgen: fast phase with every service apart for %s\n", o.fastDuration)
		p, err := load.RunPhase(ctx, t, gen, fastSpec(o, "fast apart"))
		out = &p
		return err
	})
	return out, err
}

// replicaCounts parses --scale ("1,2,4").
func replicaCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 8 {
			return nil, fmt.Errorf("--scale %q: each replica count must be a whole number from 1 to 8, as in 1,2,4", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// withLocal starts a Firebreak in this process, runs fn against it and
// stops it.
func withLocal(ctx context.Context, o options, lo load.LocalOptions, fn func(*load.Local, load.Target) error) error {
	where := "in process"
	if lo.Apart {
		where = "as a process per service"
	}
	lo.RedisURL, lo.BrandFollowers, lo.Partitions = o.redisURL, 203_000, o.partitions
	fmt.Fprintf(os.Stderr, "loadgen: starting Firebreak %s (sync always: %v, replicas: %d, mention partitions: %d)\n", where, lo.SyncAlways, max(lo.Replicas, 1), max(lo.Partitions, 1))
	l, err := load.StartLocal(ctx, lo)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Close(closeCtx); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: stop the in-process Firebreak: %v\n", err)
		}
	}()
	conn, err := rpc.Dial(l.EscalationAddr(), l.Token())
	if err != nil {
		return fmt.Errorf("dial escalation at %s: %w", l.EscalationAddr(), err)
	}
	defer conn.Close()
	redis, err := store.Open(ctx, store.Options{URL: o.redisURL})
	if err != nil {
		return err
	}
	defer redis.Close()
	return fn(l, load.Target{
		IngestURL: l.IngestURL(), Token: l.Token(), Escalation: fbv1.NewEscalationServiceClient(conn),
		NC: l.NC, Names: l.Names, Sink: l.Sink, Redis: redis, Pids: l.Pids(), Metrics: l.MetricsURLs(),
	})
}

// ceilings measures the broker with one stream per hop and with the best
// layout the design allows (as many partitions side by side as the
// services run with, or --ceiling-partitions); the best is the ceiling the
// run is judged against.
func ceilings(ctx context.Context, l *load.Local, o options) (single, best *load.CeilingResult, err error) {
	for _, parts := range []int{1, cmp.Or(o.ceilingPartitions, o.partitions)} {
		if parts < 1 || (parts == 1 && single != nil) {
			continue
		}
		fmt.Fprintf(os.Stderr, "loadgen: measuring the broker's %d-hop ceiling with %d stream(s) for %s\n", load.Hops, parts, o.ceilingDuration)
		c, err := load.Ceiling(ctx, l.NC, load.CeilingOptions{Duration: o.ceilingDuration, Size: 400, Replicas: 1, Window: 512, Partitions: parts})
		if err != nil {
			return nil, nil, err
		}
		if parts == 1 {
			single = &c
		}
		if best == nil || c.PerSecond > best.PerSecond {
			best = &c
		}
	}
	return single, best, nil
}

// external runs the phases against a Firebreak someone else started.
func external(ctx context.Context, o options, corpus *load.Corpus) (load.Run, error) {
	if err := load.CheckLoopback(o.ingestURL); err != nil {
		return load.Run{}, err
	}
	if err := load.CheckLoopback("http://" + o.escalationAddr); err != nil {
		return load.Run{}, err
	}
	token := os.Getenv("FIREBREAK_TOKEN")
	if token == "" {
		return load.Run{}, fmt.Errorf("set FIREBREAK_TOKEN to a key of the running Firebreak with the ingest and viewer roles (make run prints one)")
	}
	conn, err := rpc.Dial(o.escalationAddr, token)
	if err != nil {
		return load.Run{}, fmt.Errorf("dial escalation at %s: %w", o.escalationAddr, err)
	}
	defer conn.Close()
	t := load.Target{IngestURL: o.ingestURL, Token: token, Escalation: fbv1.NewEscalationServiceClient(conn)}
	phases, err := phases(ctx, o, corpus, t, true)
	return load.Run{Phases: phases}, err
}

func phases(ctx context.Context, o options, corpus *load.Corpus, t load.Target, first bool) ([]load.Phase, error) {
	runID := fmt.Sprintf("load%d", time.Now().UnixNano())
	gen := load.NewGenerator(corpus, mix(o, runID))
	var specs []load.Spec
	if o.rate > 0 {
		specs = append(specs, load.Spec{Name: fmt.Sprintf("rate %.0f/s", o.rate), Rate: o.rate, Duration: o.rateDuration, Count: o.count, Batch: 1, Workers: o.workers, Settle: o.settle})
	}
	if o.fastDuration > 0 {
		specs = append(specs, fastSpec(o, "fast"))
	}
	for i, path := range profiles(o, first) {
		if path == "" || i >= len(specs) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create the CPU profile's directory: %w", err)
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		specs[i].Profile = f
	}
	var out []load.Phase
	for _, spec := range specs {
		fmt.Fprintf(os.Stderr, "loadgen: phase %q for %s\n", spec.Name, spec.Duration)
		p, err := load.RunPhase(ctx, t, gen, spec)
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", spec.Name, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// profiles names the CPU profile files of the phases, in the order they
// run: the rate phase's, then the fast phase's. Only the first run of the
// phases is profiled.
func profiles(o options, first bool) []string {
	if !first {
		return nil
	}
	var out []string
	if o.rate > 0 {
		out = append(out, o.rateCPUProfile)
	}
	if o.fastDuration > 0 {
		out = append(out, o.cpuProfile)
	}
	return out
}

// mix is the generated traffic: one brand, 5,000 authors, 3% of them
// out-following the brand, 5% brand replies.
func mix(o options, runID string) load.Mix {
	return load.Mix{Brand: "acme", Authors: 5000, HighReach: 0.03, BrandFollowers: 203_000, Replies: 0.05, RunID: runID, Seed: o.seed}
}

// fastSpec is the as-fast-as-it-goes phase.
func fastSpec(o options, name string) load.Spec {
	return load.Spec{Name: name, Duration: o.fastDuration, Count: o.count, Batch: o.batch, Workers: o.workers, MaxBacklog: o.backlog, Settle: o.settle}
}

func write(o options, s *load.Summary) error {
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{o.jsonOut, s.WriteJSON}, {o.htmlOut, s.WriteHTML}} {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, out.write); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", out.path)
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return errors.Join(write(f), f.Close())
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		if !strings.Contains(v, "://") {
			v = "redis://" + v
		}
		return v
	}
	return def
}
