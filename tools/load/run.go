package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/tools/stack"
)

// Target is a running Firebreak and what the run may use to watch it.
type Target struct {
	IngestURL string
	// Token is presented to ingest and escalation.
	Token      string
	Escalation fbv1.EscalationServiceClient
	// NC, when set, lets the run hold back while the pipeline is behind.
	NC    *nats.Conn
	Names bus.Names
	// Sink, when set, is the receiver the notifier posts to.
	Sink *Sink
	// Redis, when set, has its CPU time reported beside the run's.
	Redis redis.UniversalClient
	// Pids are the services' process ids, by name, when they run as
	// processes of their own (Procs): each one's CPU and RSS is reported.
	Pids map[string]int
	// Metrics are the services' /metrics, read before and after a phase
	// for the batch consumers' messages per batch.
	Metrics []string
}

// Spec describes one phase.
type Spec struct {
	Name     string
	Rate     float64 // 0: as fast as it goes
	Duration time.Duration
	Count    int
	Batch    int
	Workers  int
	// MaxBacklog bounds the pipeline's backlog in a fast phase (needs NC).
	MaxBacklog int
	// Settle is how long to wait for the last decisions after sending.
	Settle time.Duration
	// Profile, when set, receives a copy of the CPU profile of this
	// process during the phase (every phase is profiled, to split CPU by
	// service).
	Profile io.Writer
}

// CPU is CPU time spent during a phase, in seconds, with the work Redis
// and the broker did in it.
type CPU struct {
	Process float64 `json:"process_s"`
	Redis   float64 `json:"redis_s"`
	// RedisCommands are commands Redis processed (INFO stats; on a shared
	// Redis, others' commands count too).
	RedisCommands float64 `json:"redis_commands"`
	// StoredBytes is what the broker's streams grew by (in process only).
	StoredBytes float64 `json:"stored_bytes"`
}

// RunPhase drives one phase against t and returns its figures.
func RunPhase(ctx context.Context, t Target, gen *Generator, spec Spec) (Phase, error) {
	opts := DriveOptions{URL: t.IngestURL, Token: t.Token, Rate: spec.Rate, Count: spec.Count, Duration: spec.Duration, Batch: spec.Batch, Workers: spec.Workers}
	if t.NC != nil && spec.MaxBacklog > 0 {
		js, err := jetstream.New(t.NC)
		if err != nil {
			return Phase{}, fmt.Errorf("JetStream for the backlog: %w", err)
		}
		opts.Hold = (&Backlog{JS: js, Names: t.Names, Max: spec.MaxBacklog, Poll: 50 * time.Millisecond}).Hold
	}
	pagesBefore := 0
	if t.Sink != nil {
		pagesBefore = len(t.Sink.Pages())
	}
	before := t.cpu(ctx)
	batchesBefore, err := ReadBatches(ctx, t.Metrics)
	if err != nil {
		return Phase{}, err
	}
	stopUsage, err := watchUsage(spec.Profile, t.Pids)
	if err != nil {
		return Phase{}, err
	}
	var sent []Sent
	// The load's own goroutines (and the HTTP client's, which they start)
	// are labelled, so the profile tells the harness from the broker.
	pprof.Do(ctx, pprof.Labels(stack.ProfileLabel, Harness), func(ctx context.Context) {
		sent, err = Drive(ctx, gen, opts)
		if err == nil {
			err = t.drain(ctx, spec.Settle)
		}
	})
	usage, uerr := stopUsage()
	if err = errors.Join(err, uerr); err != nil {
		return Phase{}, err
	}
	after := t.cpu(ctx)
	batches, err := ReadBatches(ctx, t.Metrics)
	if err != nil {
		return Phase{}, err
	}
	decided, err := Decisions(ctx, t.Escalation, decidable(sent), spec.Settle)
	if err != nil {
		return Phase{}, err
	}
	var pages []Page
	if t.Sink != nil {
		pages = t.Sink.Pages()[pagesBefore:]
	}
	p := Analyse(spec.Name, spec.Rate, sent, decided, pages)
	p.CPU = CPU{Process: after.Process - before.Process, Redis: after.Redis - before.Redis,
		RedisCommands: after.RedisCommands - before.RedisCommands, StoredBytes: after.StoredBytes - before.StoredBytes}
	p.Usage = usage
	p.Batches = batches.Since(batchesBefore)
	for name := range t.Pids {
		p.CPU.Process += usage.CPUByService[name] // the services' CPU is not this process's
	}
	return p, nil
}

// drain waits, up to settle, until the pipeline has nothing pending, so
// the next phase starts on an idle system.
func (t Target) drain(ctx context.Context, settle time.Duration) error {
	if t.NC == nil {
		return nil
	}
	js, err := jetstream.New(t.NC)
	if err != nil {
		return fmt.Errorf("JetStream for draining: %w", err)
	}
	b := &Backlog{JS: js, Names: t.Names}
	deadline := time.Now().Add(settle)
	for time.Now().Before(deadline) {
		if n, err := b.Pending(ctx); err == nil && n == 0 {
			return nil
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// decidable lists the accepted mentions that must get a decision; brand
// replies end a streak and are not decided.
func decidable(sent []Sent) []string {
	ids := make([]string, 0, len(sent))
	for _, s := range sent {
		if !s.Accepted.IsZero() && !s.BrandReply {
			ids = append(ids, s.ID())
		}
	}
	return ids
}

func (t Target) cpu(ctx context.Context) CPU {
	var c CPU
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.Process = tv(ru.Utime) + tv(ru.Stime)
	}
	if t.Redis != nil {
		if info, err := t.Redis.Info(ctx, "cpu", "stats").Result(); err == nil {
			c.Redis = infoField(info, "used_cpu_user") + infoField(info, "used_cpu_sys")
			c.RedisCommands = infoField(info, "total_commands_processed")
		}
	}
	if t.NC != nil {
		if js, err := jetstream.New(t.NC); err == nil {
			if info, err := js.AccountInfo(ctx); err == nil {
				c.StoredBytes = float64(info.Store)
			}
		}
	}
	return c
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func infoField(info, name string) float64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
