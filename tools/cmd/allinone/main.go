// Command allinone runs all of Firebreak in one process for a laptop: an
// embedded NATS server with JetStream (files under --data-dir), the six
// services on their default ports (the console at http://127.0.0.1:8085),
// the machine's Redis at REDIS_URL, and a local webhook sink that prints
// every notification it receives.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/firebreak/firebreak/services/platform/broker"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/tools/stack"
)

func main() { os.Exit(run()) }

func run() int {
	dataDir := flag.String("data-dir", "data", "where the embedded NATS server keeps JetStream's files")
	natsAddr := flag.String("nats-listen", "127.0.0.1:4333", "address of the embedded NATS server")
	sinkAddr := flag.String("sink-listen", "127.0.0.1:8079", "address of the local webhook sink ('' to disable)")
	logLevel := flag.String("log-level", "warn", "services' log level")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	redisURL := envOr("REDIS_URL", "redis://127.0.0.1:6379/0")
	if !strings.Contains(redisURL, "://") {
		redisURL = "redis://" + redisURL
	}
	if _, err := store.Open(ctx, store.Options{URL: redisURL}); err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: %v\n", err)
		return 1
	}
	host, port, err := splitHostPort(*natsAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: --nats-listen: %v\n", err)
		return 2
	}
	// Each service logs in as its own NATS user, with only its own
	// subjects; the passwords are made once and kept beside JetStream's
	// files.
	natsPasswords := filepath.Join(*dataDir, "nats-passwords")
	// The users may use the mention partitions the services run with
	// (FIREBREAK_MENTION_PARTITIONS); a bad value is the services' to refuse.
	partitions, _ := strconv.Atoi(os.Getenv(config.EnvName("mention-partitions")))
	users, err := broker.ServiceUsers(natsPasswords, bus.Names{Prefix: "firebreak", Partitions: partitions})
	if err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: %v\n", err)
		return 1
	}
	srv, err := broker.Start(broker.Options{Host: host, Port: port, StoreDir: filepath.Join(*dataDir, "nats"), SyncAlways: true, Users: users})
	if err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: %v\n", err)
		return 1
	}
	defer srv.Shutdown()

	// Loopback only: a laptop run is not for the network.
	flags := map[string][]string{}
	for i, name := range []string{"ingest", "scorer", "reach", "escalation", "notifier", "console"} {
		flags[name] = []string{fmt.Sprintf("--http-addr=127.0.0.1:%d", 8080+i), fmt.Sprintf("--grpc-addr=127.0.0.1:%d", 9090+i)}
	}
	consoleURL := fmt.Sprintf("http://127.0.0.1:%d", 8080+5)
	if os.Getenv("FIREBREAK_LINK_BASE") == "" {
		flags["notifier"] = append(flags["notifier"], "--link-base="+consoleURL)
	}
	if os.Getenv("FIREBREAK_BRAND_FOLLOWERS") == "" {
		flags["reach"] = append(flags["reach"], "--brand-followers=acme=203000")
	}
	if os.Getenv("FIREBREAK_BRAND_ACCOUNTS") == "" {
		// acme's own X account: ingest takes brand replies from it alone
		// (the load generator posts its replies as this account too).
		flags["ingest"] = append(flags["ingest"], "--brand-accounts=acme=x:acme-id")
	}
	if *sinkAddr != "" && os.Getenv("FIREBREAK_WEBHOOK_URL") == "" {
		sink, err := startSink(*sinkAddr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "firebreak: webhook sink: %v\n", err)
			return 1
		}
		defer sink.Close()
		flags["notifier"] = append(flags["notifier"], "--webhook-url=http://"+*sinkAddr+"/webhook")
	}
	// One local key with every role, kept beside JetStream's files so it
	// survives restarts of `make run`.
	token, keysFile, err := stack.LocalKeys(*dataDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: %v\n", err)
		return 1
	}
	flags["console"] = append(flags["console"], "--token-file="+filepath.Join(*dataDir, "token"))
	// A development Redis often runs without appendonly: escalation and
	// the notifier then start with a warning rather than refusing, unless
	// FIREBREAK_REDIS_DURABILITY says otherwise.
	acceptLoss := os.Getenv("FIREBREAK_REDIS_DURABILITY") == ""
	st, err := stack.Start(ctx, stack.Options{
		AcceptRedisLoss: acceptLoss,
		KeysFile:        keysFile,
		Common:          []string{"--nats-url=" + srv.ClientURL(), "--redis-url=" + redisURL, "--log-level=" + *logLevel},
		Flags:           flags,
		// The subject prefix stays the default, which the users are for.
		NATSPasswordDir: natsPasswords,
		Telemetry: func(name string) (*telemetry.Telemetry, error) {
			return telemetry.Setup(ctx, name, telemetry.Options{Level: *logLevel, Version: config.Version})
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: %v\n", err)
		return 1
	}
	fmt.Printf("firebreak %s running (NATS %s, Redis %s, JetStream files in %s)\n", config.Version, srv.ClientURL(), config.Redacted(redisURL), *dataDir)
	fmt.Printf("%-11s %-22s %s\n", "SERVICE", "HTTP", "gRPC")
	for _, a := range st.Addrs() {
		fmt.Printf("%-11s %-22s %s\n", a[0], a[1], a[2])
	}
	if acceptLoss {
		fmt.Printf("warning: running with --redis-durability=accept-loss: if Redis at %s runs without appendonly, restarting it loses joins, chain timers and open cases (set FIREBREAK_REDIS_DURABILITY=require to refuse that)\n", config.Redacted(redisURL))
	}
	fmt.Printf("every API takes the local admin key (in %s); in another terminal:\n", filepath.Join(*dataDir, "token"))
	fmt.Printf("export FIREBREAK_TOKEN=%s\n", token)
	fmt.Printf("post mentions to http://%s/v1/mentions with 'Authorization: Bearer $FIREBREAK_TOKEN'; list cases with `go run ./tools/cmd/firebreak cases list`\n", st.Ingest.HTTPAddr())
	fmt.Printf("console: http://%s/ (local mode, signed in as %s)\n", st.Console.HTTPAddr(), stack.LocalAdmin)
	if *sinkAddr != "" && os.Getenv("FIREBREAK_WEBHOOK_URL") == "" {
		fmt.Printf("notifications go to the webhook sink at http://%s/webhook and are printed here\n", *sinkAddr)
	}
	<-ctx.Done()
	fmt.Println("draining...")
	stopCtx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := st.Stop(stopCtx); err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: drain: %v\n", err)
		return 1
	}
	return 0
}

// startSink serves a webhook endpoint that prints one line per notification.
func startSink(addr string) (*http.Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var note struct {
			Action string `json:"action"`
			Title  string `json:"title"`
		}
		_ = json.Unmarshal(body, &note)
		log.Info("webhook delivery", "action", note.Action, "title", note.Title, "idempotency_key", r.Header.Get("Idempotency-Key"))
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(lis) }()
	return srv, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var port int
	_, err = fmt.Sscan(p, &port)
	return host, port, err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
