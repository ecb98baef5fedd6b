package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/notifier/receivers"
)

// AckTimeouts are the chaos policy's ack_timeouts, level by level in every
// chain: short, so that chain timers fire during the faults and the checker
// sees each level paged exactly once per round.
var AckTimeouts = []time.Duration{5 * time.Second, 10 * time.Second}

var ackTimeoutLine = regexp.MustCompile(`(?m)^(\s+ack_timeout:) \S+$`)

// Policy is the shipped policy with the chains' ack_timeouts replaced by
// AckTimeouts, so the chaos run pages through the same routes and chains
// as production, only faster.
func Policy() ([]byte, error) {
	i := 0
	doc := ackTimeoutLine.ReplaceAllFunc(policy.DefaultYAML(), func(line []byte) []byte {
		d := AckTimeouts[min(i, len(AckTimeouts)-1)]
		if i++; i == len(AckTimeouts) {
			i = 0 // the next chain starts at its first level again
		}
		return ackTimeoutLine.ReplaceAll(line, []byte("${1} "+d.String()))
	})
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("chaos policy: %w", err)
	}
	for _, name := range []string{"senior", "standard"} {
		c, ok := p.Chain(name)
		if !ok || len(c.Levels) != len(AckTimeouts) {
			return nil, fmt.Errorf("chaos policy: chain %q has changed shape in the shipped policy; update tools/chaos/policy.go", name)
		}
	}
	return doc, nil
}

// ChainSpan is the longest a chain of the chaos policy keeps firing after
// its case opens: every level's ack_timeout, once per round.
func ChainSpan() time.Duration {
	var total time.Duration
	for _, d := range AckTimeouts {
		total += d
	}
	return total * 2 // the senior chain repeats once
}

// chaosReceivers are the receivers of the shipped chains, all served by the
// chaos sink. Those in noDedup stand for receivers that cannot drop a
// repeat (Slack, email, a webhook without dedup): a same-key repeat to them
// is a duplicate a person sees.
var (
	chaosTeams = map[string][]string{"senior": {"senior-oncall", "head-of-social"}, "standard": {"support-queue", "support-lead"}}
	noDedup    = map[string]bool{"head-of-social": true, "support-queue": true}
)

// writeReceivers writes the notifier's receivers file for the chaos run:
// every chain receiver a webhook to the sink, routed by team and level as
// the chains are, the standard team grouped (the storm hold), and returns
// the routing the checker expects.
func writeReceivers(dir, sinkURL string) (string, Routing, error) {
	var b strings.Builder
	b.WriteString("receivers:\n")
	known := map[string]bool{}
	for _, team := range []string{"senior", "standard"} {
		for _, name := range chaosTeams[team] {
			known[name] = true
			// The default webhook limit (10/s) would measure the limiter:
			// hundreds of cases open in the first seconds.
			fmt.Fprintf(&b, "  - name: %s\n    type: webhook\n    rate_limit: {per_second: 1000, burst: 1000}\n    webhook: {url: %q}\n", name, sinkURL)
		}
	}
	b.WriteString("default_team: senior\nteams:\n")
	for _, team := range []string{"senior", "standard"} {
		fmt.Fprintf(&b, "  %s:\n    levels:\n", team)
		for i, name := range chaosTeams[team] {
			fmt.Fprintf(&b, "      - {level: %d, receivers: [%s]}\n", i+1, name)
		}
		if team == "standard" {
			b.WriteString("    group: {group_wait: 1s, group_interval: 5s, max_size: 50}\n")
		}
	}
	path := filepath.Join(dir, "receivers.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", Routing{}, fmt.Errorf("write %s: %w", path, err)
	}
	cfg, err := receivers.Parse(path, []byte(b.String()), os.Getenv)
	if err != nil {
		return "", Routing{}, fmt.Errorf("chaos receivers: %w", err)
	}
	return path, Routing{Known: known, Route: cfg.Route, NoDedup: noDedup}, nil
}

// writePolicy writes the chaos policy beside the logs.
func writePolicy(dir string) (string, error) {
	doc, err := Policy()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
