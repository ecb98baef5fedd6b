package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// RedisPowerLoss makes the everysec restart a power loss: each node's
	// append-only file loses its last second of writes. It measures
	// everysec's loss window; it is not part of make chaos.
	RedisPowerLoss bool
	// Redrive, after the everysec restart, runs what `firebreak redrive`
	// runs (see Suite.redrive), as an operator would.
	Redrive bool
	// Partitions is how many streams the mentions are split over, every
	// service run with --mention-partitions of it; 0 and 1 are one stream.
	Partitions int
}

// Replicas is how many copies of each service run, sharing their durable
// consumers, as a production install does.
const Replicas = 2

// Suite is a running Firebreak under fault injection.
type Suite struct {
	opts     Options
	rng      *rand.Rand
	cluster  *Cluster
	redis    *RedisCluster
	services map[string][]*Proc
	balancer *http.Server
	ingest   string
	token    string // presented to ingest and escalation
	sink     *load.Sink
	nc       *nats.Conn
	js       jetstream.JetStream
	conn     *grpc.ClientConn
	esc      fbv1.EscalationServiceClient
	// grpcAddrs are each service's first replica's gRPC address.
	grpcAddrs map[string]string
	names     bus.Names
	// routing is who the chaos receivers file pages, for the checker.
	routing Routing
	timings []timing
	mu      sync.Mutex
}

// Start brings up the NATS cluster, the Redis Cluster, the sink and two
// replicas of each of the five services.
func Start(ctx context.Context, opts Options) (_ *Suite, err error) {
	s := &Suite{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed+1)), services: map[string][]*Proc{}, grpcAddrs: map[string]string{}, names: bus.Names{Prefix: "firebreak", Partitions: opts.Partitions}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	s.logf("building nats-server into %s", opts.BinDir)
	natsBin, err := BuildNATS(ctx, opts.BinDir)
	if err != nil {
		return nil, err
	}
	s.logf("starting a 3-node JetStream cluster of nats-server processes (sync always)")
	if s.cluster, err = StartCluster(ctx, natsBin, filepath.Join(opts.Dir, "nats"), 3); err != nil {
		return nil, err
	}
	s.logf("starting a Redis Cluster: 3 primaries, 3 replicas, appendfsync always")
	if s.redis, err = StartRedisCluster(ctx, filepath.Join(opts.Dir, "redis")); err != nil {
		return nil, err
	}
	if s.sink, err = load.StartSink("127.0.0.1:0"); err != nil {
		return nil, err
	}
	if n := s.names.MentionPartitions(); n > 1 {
		s.logf("mentions split over %d partition streams: %s", n, strings.Join(s.names.MentionStreams(), ", "))
	}
	if err := s.startServices(ctx); err != nil {
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

func (s *Suite) startServices(ctx context.Context) error {
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
	ports, err := FreePorts(2 * Replicas * len(Services))
	if err != nil {
		return err
	}
	common := []string{"--nats-url=" + s.cluster.URLs(), "--stream-replicas=3", "--auth-keys-file=" + keysFile,
		"--redis-url=redis://", "--redis-addrs=" + strings.Join(s.redis.Addrs, ","), "--redis-key-prefix=chaos:", "--shutdown-timeout=10s",
		"--mention-partitions=" + strconv.Itoa(s.names.MentionPartitions())}
	extra := map[string][]string{
		"reach":  {"--brand-followers=acme=203000"},
		"ingest": {"--brand-accounts=acme=x:" + load.BrandAccount("acme")},
		// The shipped routes and chains with ack_timeouts of seconds.
		"escalation": {"--policy-file=" + policyFile},
		// The default three minutes would hold a killed notifier's pages
		// back that long; 45 s still covers a slow receiver's retries.
		"notifier": {"--receivers-file=" + receiversFile, "--ack-wait=45s"},
	}
	var ingests []string
	for i, name := range Services {
		for r := range Replicas {
			at := 2 * (i*Replicas + r)
			httpAddr, grpcAddr := fmt.Sprintf("127.0.0.1:%d", ports[at]), fmt.Sprintf("127.0.0.1:%d", ports[at+1])
			replica := fmt.Sprintf("%s-%d", name, r+1)
			p := &Proc{
				Name: replica, Path: filepath.Join(s.opts.BinDir, name), Log: filepath.Join(s.opts.Dir, replica+".log"),
				Args:  append(append([]string{"--http-addr=" + httpAddr, "--grpc-addr=" + grpcAddr}, common...), extra[name]...),
				Ready: httpReady("http://" + httpAddr + "/readyz"),
			}
			s.logf("starting %s (http %s, grpc %s)", replica, httpAddr, grpcAddr)
			if err := p.Start(ctx); err != nil {
				return err
			}
			s.services[name] = append(s.services[name], p)
			if r == 0 {
				s.grpcAddrs[name] = grpcAddr
			}
			switch {
			case name == "ingest":
				ingests = append(ingests, "http://"+httpAddr)
			case name == "escalation" && r == 0:
				conn, err := rpc.Dial(grpcAddr, token)
				if err != nil {
					return fmt.Errorf("dial escalation at %s: %w", grpcAddr, err)
				}
				s.conn, s.esc = conn, fbv1.NewEscalationServiceClient(conn)
			}
		}
	}
	lb, addr, err := startBalancer(ingests)
	if err != nil {
		return err
	}
	s.balancer, s.ingest = lb, "http://"+addr+"/v1/mentions"
	s.logf("ingest's replicas behind a round-robin balancer at %s", addr)
	return nil
}

// Stop ends everything the suite started.
func (s *Suite) Stop() {
	if s.balancer != nil {
		_ = s.balancer.Close()
	}
	for i := len(Services) - 1; i >= 0; i-- {
		var wg sync.WaitGroup
		for _, p := range s.services[Services[i]] {
			wg.Go(func() { p.Stop(10 * time.Second) })
		}
		wg.Wait()
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
		s.redis.Stop()
	}
	if s.cluster != nil {
		s.cluster.Stop()
	}
}

// startBalancer serves on a loopback port and passes each request to the
// next of targets, as a load balancer in front of ingest does; a replica
// that refuses the connection (killed) is skipped. A retry on another
// replica is safe: ingest dedups by mention id.
func startBalancer(targets []string) (*http.Server, string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("balancer listen: %w", err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var next atomic.Uint64
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		first := next.Add(1)
		var last error
		for i := range uint64(len(targets)) {
			target := targets[(first+i)%uint64(len(targets))]
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				last = err
				continue
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, fmt.Sprintf("no ingest replica answered: %v", last), http.StatusBadGateway)
	})}
	go func() { _ = srv.Serve(lis) }()
	return srv, lis.Addr().String(), nil
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
	// Length is how long mentions flow during the phase; zero is the
	// suite's PhaseLength. The phase lasts until Inject returns too.
	Length time.Duration
}

// RunPhase pushes mentions at the configured rate while fault runs.
func (s *Suite) RunPhase(ctx context.Context, gen *load.Generator, f Fault) PhaseRun {
	length := f.Length
	if length == 0 {
		length = s.opts.PhaseLength
	}
	s.logf("phase %q: %0.f mentions/s for %s", f.Name, s.opts.Rate, length)
	start := time.Now()
	expect := f.Expect
	if s.opts.RedisPowerLoss && f.Name == redisFault {
		// The power loss cuts Redis's last second on purpose: what
		// escalation forgets is the loss window being measured.
		expect.Forgotten = true
	}
	run := PhaseRun{Name: f.Name, Start: start, Expect: expect}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if f.Inject != nil {
			run.Windows, run.Err = f.Inject(ctx, s, length)
		}
	}()
	sent, err := load.Drive(ctx, gen, load.DriveOptions{
		URL: s.ingest, Token: s.token, Rate: s.opts.Rate, Count: int(s.opts.Rate*length.Seconds()) + 1, Duration: length,
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
	took := time.Since(start)
	s.mu.Lock()
	s.timings = append(s.timings, timing{f.Name, took})
	s.mu.Unlock()
	s.logf("phase %q took %s: sent %d (%d never accepted), %d fault windows, err %v", f.Name, took.Round(100*time.Millisecond), len(sent), refused, len(run.Windows), run.Err)
	return run
}

type timing struct {
	fault string
	took  time.Duration
}

// PrintTimings writes how long each phase took, its fault included.
func (s *Suite) PrintTimings(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(w, "\n%-36s %8s\n", "PHASE", "TOOK")
	var total time.Duration
	for _, t := range s.timings {
		fmt.Fprintf(w, "%-36s %8s\n", t.fault, t.took.Round(100*time.Millisecond))
		total += t.took
	}
	fmt.Fprintf(w, "%-36s %8s\n", "all phases", total.Round(time.Second))
}

// Settle waits until no consumer has anything pending or unacknowledged,
// up to the configured bound, and returns how long that took.
func (s *Suite) Settle(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(s.opts.Settle)
	for {
		// Each look is bounded: a JetStream API request under the run's
		// own context waited 5 minutes for an answer after the leaders
		// were SIGKILLed, past the Settle bound and the run's time.
		look, cancel := context.WithTimeout(ctx, 5*time.Second)
		pending, err := s.pending(look)
		cancel()
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
	for stream, durables := range consumersByStream(s.names) {
		for _, d := range durables {
			info, err := s.consumerInfo(ctx, stream, d)
			if err != nil {
				return -1, err
			}
			total += int(info.NumPending) + info.NumAckPending
		}
	}
	return total, nil
}

// consumersByStream names the durable consumers the suite waits on, by
// stream: each mention partition's stream has the same three, as every
// consuming service runs one consumer per partition under one name.
func consumersByStream(names bus.Names) map[string][]string {
	out := map[string][]string{names.Stream(bus.NounCases): {"notifier-cases"}}
	for _, stream := range names.MentionStreams() {
		out[stream] = []string{"scorer-mentions", "reach-mentions", "escalation-join"}
	}
	return out
}

// consumerInfo asks for a consumer's state, bounded by jsCall: a request
// in flight when a NATS node dies is never answered.
func (s *Suite) consumerInfo(ctx context.Context, stream, durable string) (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, jsCall)
	defer cancel()
	c, err := s.js.Consumer(ctx, stream, durable)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, err)
	}
	return info, nil
}

// jsCall bounds one JetStream API request of the suite. JetStream's own
// default timeout does not apply under the run's context, which has a
// deadline, so without it a request lost with a killed node waits out the
// whole run.
const jsCall = 5 * time.Second

// describe names a list of windows for the table.
func describe(ws []Window) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, w.Fault)
	}
	return strings.Join(parts, ", ")
}
