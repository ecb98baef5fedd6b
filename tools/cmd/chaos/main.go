// Command chaos runs Firebreak's fault-injection suite: two replicas of
// each of the five services as separate processes, on a three-node
// JetStream cluster of nats-server processes (streams replicated three
// times, fsync always) and a Redis Cluster of three primaries and three
// replicas, while mentions flow through the faults operators meet:
// SIGKILLed services (one replica, then all at once), NATS leaders and a
// node SIGKILLed, Redis down and failed over and restarted under everysec,
// failing and throttling receivers, a dead-letter stream that refuses and
// full streams. It prints how long each phase took and a table of what was
// lost, left unpaged, dead-lettered or doubled per fault, and
// exits 1 if anything was. --partitions N runs it all with the mentions
// split over N streams (the services' --mention-partitions).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/tools/chaos"
	"github.com/firebreak/firebreak/tools/load"
)

func main() { os.Exit(run()) }

func run() int {
	dir := flag.String("dir", "bin/chaos", "working directory: binaries, logs, NATS and Redis files (emptied first)")
	airline := flag.String("airline-csv", "../shared/data/airline-sentiment/train.csv", "airline sentiment CSV (texts)")
	twitter := flag.String("twitter-csv", "../shared/data/customer-support-on-twitter/twcs-5000.csv", "customer support on Twitter CSV")
	rate := flag.Float64("rate", 50, "mentions a second during each phase")
	phase := flag.Duration("phase", 15*time.Second, "length of each fault's phase (faults with longer outages run longer)")
	settle := flag.Duration("settle", 3*time.Minute, "longest wait for the pipeline to catch up after the faults")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the fault schedule and the traffic (printed, to reproduce a run)")
	timeout := flag.Duration("timeout", 14*time.Minute, "bound on the whole run")
	only := flag.String("faults", "", "run only the faults whose names contain one of these comma-separated words, e.g. escalation,Redis")
	powerLoss := flag.Bool("redis-power-loss", false, "make the everysec Redis restart a power loss (each node's append-only file loses its last second of writes), to measure what everysec can lose; expect findings")
	redrive := flag.Bool("redrive", false, "after the everysec Redis restart, run what `firebreak redrive --since <3s before it>` runs (the notifier's, then escalation's RedriveService), as an operator would after a power loss")
	partitions := flag.Int("partitions", 1, "mention partitions: every service runs with --mention-partitions of it, and the faults and the checker cover every mention stream (1: one stream, FIREBREAK_MENTIONS)")
	flag.Parse()
	if *partitions < 1 || *partitions > config.MaxMentionPartitions {
		fmt.Fprintf(os.Stderr, "chaos: --partitions %d: must be between 1 and %d, as the services' --mention-partitions\n", *partitions, config.MaxMentionPartitions)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	abs, err := filepath.Abs(*dir)
	if err == nil {
		err = os.RemoveAll(abs)
	}
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: working directory %s: %v\n", *dir, err)
		return 2
	}
	corpus, err := load.ReadCorpus(*airline, *twitter)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		return 2
	}
	rerun := fmt.Sprintf("--seed %d", *seed)
	if *partitions > 1 {
		rerun += fmt.Sprintf(" --partitions %d", *partitions)
	}
	fmt.Printf("chaos: seed %d (rerun with %s), logs in %s\n", *seed, rerun, abs)
	start := time.Now()
	v, err := chaos.Run(ctx, chaos.Options{Dir: abs, Corpus: corpus, Rate: *rate, PhaseLength: *phase, Settle: *settle, Seed: *seed, Progress: os.Stdout, Only: pick(*only), RedisPowerLoss: *powerLoss, Redrive: *redrive, Partitions: *partitions})
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		return 1
	}
	v.Print(os.Stdout)
	fmt.Printf("\nchaos: finished in %s, seed %d\n", time.Since(start).Round(time.Second), *seed)
	if len(v.Failures) > 0 {
		fmt.Printf("chaos: FAILED: %v\n", v.Failures)
		return 1
	}
	fmt.Println("chaos: PASS: every mention decided once with all its parts, every escalation on the cases stream, every fired level paged exactly once per receiver, no dead letters")
	return 0
}

// pick keeps the faults whose names contain one of the comma-separated
// words; empty keeps them all.
func pick(words string) func([]chaos.Fault) []chaos.Fault {
	if words == "" {
		return nil
	}
	return func(all []chaos.Fault) []chaos.Fault {
		var out []chaos.Fault
		for _, f := range all {
			for _, w := range strings.Split(words, ",") {
				if w != "" && strings.Contains(strings.ToLower(f.Name), strings.ToLower(w)) {
					out = append(out, f)
					break
				}
			}
		}
		return out
	}
}
