package escalation

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/config"
)

// An --ack-wait that a late part would outwait is refused at start-up,
// saying what to change: a part in flight on a dead replica would come
// after the join timeout and the mention be decided without it.
func TestAnAckWaitALatePartWouldOutwaitIsRefusedAtStartUp(t *testing.T) {
	parse := func(args ...string) error {
		var c Config
		fs := flag.NewFlagSet("escalation", flag.ContinueOnError)
		c.Register(fs)
		if err := config.Parse(fs, args, io.Discard); err != nil {
			t.Fatal(err)
		}
		return c.Validate()
	}
	if err := parse(); err != nil && strings.Contains(err.Error(), "ack-wait") {
		t.Fatalf("the defaults refused: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ack-wait=30s"}, "--ack-wait (FIREBREAK_ACK_WAIT) must be between 1s and 5s"},
		{[]string{"--ack-wait=5s"}, "--join-timeout (FIREBREAK_JOIN_TIMEOUT) must be at least three times --ack-wait (5s)"},
		{[]string{"--ack-wait=2s", "--join-timeout=" + (5 * time.Second).String()}, "raise --join-timeout or lower --ack-wait here and in scorer and reach"},
	} {
		err := parse(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
