package load

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/broker"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/tools/stack"
)

// LocalOptions shape a Firebreak started in this process.
type LocalOptions struct {
	RedisURL string
	// SyncAlways makes JetStream fsync every write before acknowledging it.
	SyncAlways     bool
	BrandFollowers int64
	// LogLevel of the services (their logs go to stderr).
	LogLevel string
	// Replicas is how many copies of every service run side by side on
	// the one broker and Redis prefix, as a deployment's replicas do (0
	// and 1 both mean one).
	Replicas int
	// Apart runs each service as a process of its own, from the binaries
	// in BinDir, so that each one's CPU and RSS can be read (one replica).
	Apart  bool
	BinDir string
	// Partitions splits the mentions over that many streams
	// (--mention-partitions); 0 and 1 are one stream.
	Partitions int
}

// Local is a whole Firebreak in this process: an embedded broker with its
// files in a temporary directory, the five services, and a webhook sink,
// on the machine's Redis under a key prefix of its own.
type Local struct {
	Broker *server.Server
	// Stack is the services in this process; Procs, with Apart, the
	// services as processes of their own. One of them is set.
	Stack *stack.Stack
	Procs *Procs
	// Extra are the replicas beyond the first, Stack.
	Extra []*stack.Stack
	// Names are the services' subjects and streams.
	Names  bus.Names
	Sink   *Sink
	NC     *nats.Conn
	redis  redis.UniversalClient
	prefix string
	dir    string
}

// StartLocal starts everything; Close stops it and removes its keys and files.
func StartLocal(ctx context.Context, opts LocalOptions) (_ *Local, err error) {
	l := &Local{prefix: "fbload:" + rand.Text()[:10] + ":", Names: bus.Names{Prefix: "firebreak", Partitions: max(opts.Partitions, 1)}}
	defer func() {
		if err != nil {
			_ = l.Close(context.Background())
		}
	}()
	if l.redis, err = store.Open(ctx, store.Options{URL: opts.RedisURL}); err != nil {
		return nil, err
	}
	if l.dir, err = os.MkdirTemp("", "firebreak-load-"); err != nil {
		return nil, fmt.Errorf("temporary directory for JetStream: %w", err)
	}
	// Each service logs in as its own NATS user; the load generator, which
	// watches every consumer, as one that may do anything.
	passwords := filepath.Join(l.dir, "nats-passwords")
	users, err := broker.ServiceUsers(passwords, l.Names)
	if err != nil {
		return nil, err
	}
	loadgenPass, err := broker.Password(filepath.Join(passwords, "loadgen"))
	if err != nil {
		return nil, err
	}
	users = append(users, broker.User{Name: "loadgen", Password: loadgenPass})
	if l.Broker, err = broker.Start(broker.Options{Port: -1, StoreDir: l.dir, SyncAlways: opts.SyncAlways, Users: users}); err != nil {
		return nil, err
	}
	if l.NC, err = nats.Connect(l.Broker.ClientURL(), nats.Name("firebreak-loadgen"), nats.UserInfo("loadgen", loadgenPass)); err != nil {
		return nil, fmt.Errorf("connect to embedded NATS %s: %w", l.Broker.ClientURL(), err)
	}
	if l.Sink, err = StartSink("127.0.0.1:0"); err != nil {
		return nil, err
	}
	level := opts.LogLevel
	if level == "" {
		level = "error"
	}
	stackOpts := stack.Options{
		AcceptRedisLoss: true, // the machine's Redis need not persist
		Common: []string{"--nats-url=" + l.Broker.ClientURL(), "--redis-url=" + opts.RedisURL, "--redis-key-prefix=" + l.prefix,
			"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--log-level=" + level,
			fmt.Sprintf("--mention-partitions=%d", l.Names.MentionPartitions())},
		Flags: map[string][]string{
			"reach":    {fmt.Sprintf("--brand-followers=acme=%d", opts.BrandFollowers)},
			"ingest":   {"--brand-accounts=acme=x:" + BrandAccount("acme")},
			"notifier": {"--webhook-url=" + l.Sink.URL()},
		},
		Telemetry: func(name string) (*telemetry.Telemetry, error) {
			return telemetry.Setup(ctx, name, telemetry.Options{Level: level, Output: io.Discard})
		},
		NATSPasswordDir: passwords,
	}
	if opts.Apart {
		if opts.Replicas > 1 {
			return nil, errors.New("services run apart one replica each; leave out the replicas")
		}
		l.Procs, err = startProcs(ctx, stackOpts, opts.BinDir, l.dir)
		return l, err
	}
	if l.Stack, err = stack.Start(ctx, stackOpts); err != nil {
		return nil, fmt.Errorf("start the services: %w", err)
	}
	for i := 1; i < opts.Replicas; i++ {
		extra, err := stack.Start(ctx, stackOpts)
		if err != nil {
			return nil, fmt.Errorf("start replica %d of the services: %w", i+1, err)
		}
		l.Extra = append(l.Extra, extra)
	}
	return l, nil
}

// IngestURL is where mentions are posted.
func (l *Local) IngestURL() string {
	if l.Procs != nil {
		return "http://" + l.Procs.HTTPAddr("ingest") + "/v1/mentions"
	}
	return "http://" + l.Stack.Ingest.HTTPAddr() + "/v1/mentions"
}

// MetricsURLs are the /metrics of every service of every replica.
func (l *Local) MetricsURLs() []string {
	var urls []string
	add := func(addr string) { urls = append(urls, "http://"+addr+"/metrics") }
	if l.Procs != nil {
		for _, name := range apartServices {
			add(l.Procs.HTTPAddr(name))
		}
	}
	for _, s := range append([]*stack.Stack{l.Stack}, l.Extra...) {
		if s != nil {
			for _, addr := range s.HTTPAddrs() {
				add(addr)
			}
		}
	}
	return urls
}

// EscalationAddr is escalation's gRPC address.
func (l *Local) EscalationAddr() string {
	if l.Procs != nil {
		return l.Procs.GRPCAddr("escalation")
	}
	return l.Stack.Escalation.GRPCAddr()
}

// Token is a key every service of the run accepts.
func (l *Local) Token() string {
	if l.Procs != nil {
		return l.Procs.Token
	}
	return l.Stack.Token
}

// Pids are the services' process ids when they run apart (else nil).
func (l *Local) Pids() map[string]int {
	if l.Procs == nil {
		return nil
	}
	return l.Procs.Pids()
}

// Close drains the services, stops the broker and sink, and deletes the
// run's Redis keys and JetStream files.
func (l *Local) Close(ctx context.Context) error {
	var errs []error
	for _, extra := range l.Extra {
		errs = append(errs, extra.Stop(ctx))
	}
	if l.Stack != nil {
		errs = append(errs, l.Stack.Stop(ctx))
	}
	if l.Procs != nil {
		errs = append(errs, l.Procs.Stop())
	}
	if l.Sink != nil {
		errs = append(errs, l.Sink.Close())
	}
	if l.NC != nil {
		l.NC.Close()
	}
	if l.Broker != nil {
		l.Broker.Shutdown()
		l.Broker.WaitForShutdown()
	}
	if l.redis != nil {
		errs = append(errs, deleteKeys(ctx, l.redis, l.prefix), l.redis.Close())
	}
	if l.dir != "" {
		errs = append(errs, os.RemoveAll(l.dir))
	}
	return errors.Join(errs...)
}

// deleteKeys removes every key under prefix.
func deleteKeys(ctx context.Context, client redis.UniversalClient, prefix string) error {
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := client.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("delete keys under %s: %w", prefix, err)
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := client.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("delete keys under %s: %w", prefix, err)
		}
	}
	return iter.Err()
}
