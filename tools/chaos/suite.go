package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/tools/load"
	"github.com/firebreak/firebreak/tools/stack"
)

// Services in the order they start: consumers before their producers.
var Services = []string{"notifier", "escalation", "reach", "scorer", "ingest"}

// Options shape a chaos run.
type Options struct {
	// Dir holds logs, NATS files and Redis's directory.
	Dir string
	// BinDir holds the five service binaries.
	BinDir string
	Corpus *load.Corpus
	// Rate is mentions a second during each phase, for PhaseLength.
	Rate        float64
	PhaseLength time.Duration
	// Settle bounds the wait for the pipeline to catch up after the faults.
	Settle time.Duration
	Seed   uint64
	// Progress receives a line per step.
	Progress io.Writer
	// Only, when set, picks the faults to run (to reproduce one).
	Only func([]Fault) []Fault
}

// Suite is a running Firebreak under fault injection.
type Suite struct {
	opts     Options
	rng      *rand.Rand
	cluster  *Cluster
	redis    *Proc
	services map[string]*Proc
	ingest   string
	token    string // presented to ingest and escalation
	sink     *load.Sink
	nc       *nats.Conn
	js       jetstream.JetStream
	conn     *grpc.ClientConn
	esc      fbv1.EscalationServiceClient
	names    bus.Names
	// routing is who the chaos receivers file pages, for the checker.
	routing Routing
	mu      sync.Mutex
}

// Start brings up the cluster, Redis, the sink and the five services.
func Start(ctx context.Context, opts Options) (_ *Suite, err error) {
	s := &Suite{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed+1)), services: map[string]*Proc{}, names: bus.Names{Prefix: "firebreak"}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	s.logf("starting a 3-node JetStream cluster (sync always)")
	if s.cluster, err = StartCluster(filepath.Join(opts.Dir, "nats"), 3); err != nil {
		return nil, err
	}
	ports, err := FreePorts(1 + 2*len(Services))
	if err != nil {
		return nil, err
	}
	redisDir := filepath.Join(opts.Dir, "redis")
	if err := os.MkdirAll(redisDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", redisDir, err)
	}
	s.redis = NewRedis(redisDir, ports[0])
	s.logf("starting redis-server on 127.0.0.1:%d", ports[0])
	if err := s.redis.Start(ctx); err != nil {
		return nil, err
	}
	if s.sink, err = load.StartSink("127.0.0.1:0"); err != nil {
		return nil, err
	}
	if err := s.startServices(ctx, ports); err != nil {
		return nil, err
	}
	if s.nc, err = nats.Connect(s.cluster.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond)); err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Suite) startServices(ctx context.Context, ports []int) error {
	token, keysFile, err := stack.LocalKeys(filepath.Join(s.opts.Dir, "auth"))
	if err != nil {
		return err
	}
	s.token = token
	policyFile, err := writePolicy(s.opts.Dir)
	if err != nil {
		return err
	}
	receiversFile, routing, err := writeReceivers(s.opts.Dir, s.sink.URL())
	if err != nil {
		return err
	}
	s.routing = routing
	common := []string{"--nats-url=" + s.cluster.URLs(), "--stream-replicas=3", "--auth-keys-file=" + keysFile,
		fmt.Sprintf("--redis-url=redis://127.0.0.1:%d/0", ports[0]), "--redis-key-prefix=chaos:", "--shutdown-timeout=10s"}
	extra := map[string][]string{
		"reach":  {"--brand-followers=acme=203000"},
		"ingest": {"--brand-accounts=acme=x:" + load.BrandAccount("acme")},
		// The shipped routes and chains with ack_timeouts of seconds.
		"escalation": {"--policy-file=" + policyFile},
		// The default three minutes would hold a killed notifier's pages
		// back that long; 45 s still covers a slow receiver's retries.
		"notifier": {"--receivers-file=" + receiversFile, "--ack-wait=45s"},
	}
	for i, name := range Services {
		httpAddr, grpcAddr := fmt.Sprintf("127.0.0.1:%d", ports[1+2*i]), fmt.Sprintf("127.0.0.1:%d", ports[2+2*i])
		p := &Proc{
			Name: name, Path: filepath.Join(s.opts.BinDir, name), Log: filepath.Join(s.opts.Dir, name+".log"),
			Args:  append(append([]string{"--http-addr=" + httpAddr, "--grpc-addr=" + grpcAddr}, common...), extra[name]...),
			Ready: httpReady("http://" + httpAddr + "/readyz"),
		}
		s.logf("starting %s (http %s, grpc %s)", name, httpAddr, grpcAddr)
		if err := p.Start(ctx); err != nil {
			return err
		}
		s.services[name] = p
		switch name {
		case "ingest":
			s.ingest = "http://" + httpAddr + "/v1/mentions"
		case "escalation":
			conn, err := rpc.Dial(grpcAddr, token)
			if err != nil {
				return fmt.Errorf("dial escalation at %s: %w", grpcAddr, err)
			}
			s.conn, s.esc = conn, fbv1.NewEscalationServiceClient(conn)
		}
	}
	return nil
}

// Stop ends everything the suite started.
func (s *Suite) Stop() {
	for i := len(Services) - 1; i >= 0; i-- {
		if p := s.services[Services[i]]; p != nil {
			p.Stop(10 * time.Second)
		}
	}
	if s.conn != nil {
		s.conn.Close()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.sink != nil {
		_ = s.sink.Close()
	}
	if s.redis != nil {
		s.redis.Stop(5 * time.Second)
	}
	if s.cluster != nil {
		s.cluster.Stop()
	}
}

func (s *Suite) logf(format string, args ...any) {
	if s.opts.Progress != nil {
		fmt.Fprintf(s.opts.Progress, "%s chaos: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// Window is one injected fault: from At until the system was whole again.
type Window struct {
	Fault    string
	At       time.Time
	Restored time.Time
}

// PhaseRun is what one phase sent and broke.
type PhaseRun struct {
	Name string
	// Start is when the phase began: events and dead letters with no
	// mention belong to the phase running when they happened.
	Start   time.Time
	Expect  Expected
	Sent    []load.Sent
	Windows []Window
	Err     error
}

// Fault injects one kind of fault during a phase of the given length and
// returns the windows in which the system was not whole.
type Fault struct {
	Name string
	// Expect is what the fault causes on purpose.
	Expect Expected
	Inject func(ctx context.Context, s *Suite, length time.Duration) ([]Window, error)
}

// RunPhase pushes mentions at the configured rate while fault runs.
func (s *Suite) RunPhase(ctx context.Context, gen *load.Generator, f Fault) PhaseRun {
	s.logf("phase %q: %0.f mentions/s for %s", f.Name, s.opts.Rate, s.opts.PhaseLength)
	run := PhaseRun{Name: f.Name, Start: time.Now(), Expect: f.Expect}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if f.Inject != nil {
			run.Windows, run.Err = f.Inject(ctx, s, s.opts.PhaseLength)
		}
	}()
	sent, err := load.Drive(ctx, gen, load.DriveOptions{
		URL: s.ingest, Token: s.token, Rate: s.opts.Rate, Count: int(s.opts.Rate*s.opts.PhaseLength.Seconds()) + 1, Duration: s.opts.PhaseLength,
		Workers: 16, Retry: true, RetryFor: 60 * time.Second,
	})
	wg.Wait()
	run.Sent = sent
	run.Err = errors.Join(run.Err, err)
	refused := 0
	for _, m := range sent {
		if m.Accepted.IsZero() {
			refused++
		}
	}
	s.logf("phase %q: sent %d (%d never accepted), %d fault windows, err %v", f.Name, len(sent), refused, len(run.Windows), run.Err)
	return run
}

// Settle waits until no consumer has anything pending or unacknowledged,
// up to the configured bound, and returns how long that took.
func (s *Suite) Settle(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(s.opts.Settle)
	for {
		pending, err := s.pending(ctx)
		if err == nil && pending == 0 {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("pipeline still has %d messages pending after %s (last error: %v)", pending, s.opts.Settle, err)
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		}
	}
}

func (s *Suite) pending(ctx context.Context) (int, error) {
	total := 0
	for stream, durables := range map[string][]string{
		s.names.Stream(bus.NounMentions): {"scorer-mentions", "reach-mentions", "escalation-join"},
		s.names.Stream(bus.NounCases):    {"notifier-cases"},
	} {
		for _, d := range durables {
			c, err := s.js.Consumer(ctx, stream, d)
			if err != nil {
				return -1, fmt.Errorf("consumer %s: %w", d, err)
			}
			info, err := c.Info(ctx)
			if err != nil {
				return -1, fmt.Errorf("consumer %s: %w", d, err)
			}
			total += int(info.NumPending) + info.NumAckPending
		}
	}
	return total, nil
}

// describe names a list of windows for the table.
func describe(ws []Window) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, w.Fault)
	}
	return strings.Join(parts, ", ")
}
