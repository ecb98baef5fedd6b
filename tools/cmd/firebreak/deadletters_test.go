package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// TestDeadLettersAgainstARunningFirebreak: a message the scorer cannot
// read is listed with its reason, shown whole, and a replay that fails
// again leaves it where it is, with a non-zero exit.
func TestDeadLettersAgainstARunningFirebreak(t *testing.T) {
	st, srv := startFirebreak(t, nil)
	js, err := jetstream.New(bustest.Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	names := bus.Names{Prefix: "firebreak"}
	garbled := &nats.Msg{Subject: names.Ingested("x"), Data: []byte("not a mention"), Header: nats.Header{}}
	garbled.Header.Set(bus.HeaderEvent, bus.TypeMentionIngested)
	garbled.Header.Set(bus.HeaderMentionID, "x:garbled-1")
	if _, err := js.PublishMsg(context.Background(), garbled); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FIREBREAK_TOKEN", st.Token)
	addrs := []string{"--scorer=" + st.Scorer.GRPCAddr(), "--reach=" + st.Reach.GRPCAddr(), "--escalation=" + st.Escalation.GRPCAddr(), "--notifier=" + st.Notifier.GRPCAddr()}
	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(args, addrs...), &out, &errOut)
		return out.String() + errOut.String(), code
	}

	// The scorer and reach both read ingested mentions; both give up on it.
	scorerRow := regexp.MustCompile(`scorer\s+(\d+)\s+\S+\s+mention\.ingested\s+x:garbled-1\s+1\s+decode Mention`)
	var list string
	var row []string
	if !testkit.Within(testkit.Deadline, func() bool {
		list, _ = cli("deadletters", "list")
		row = scorerRow.FindStringSubmatch(list)
		return row != nil && strings.Contains(list, "reach ")
	}) {
		t.Fatalf("the scorer's and reach's dead letters are not listed with their reason: %s", list)
	}
	seq := row[1]
	if out, code := cli("deadletters", "show", "scorer", seq); code != 0 || !strings.Contains(out, "first published on firebreak.mentions.ingested.x") || !strings.Contains(out, `"not a mention"`) {
		t.Fatalf("show (exit %d): %s", code, out)
	}
	if out, code := cli("deadletters", "replay", "scorer", seq); code != 1 || !strings.Contains(out, "failed again and stays") {
		t.Fatalf("a replay that fails again (exit %d): %s", code, out)
	}
	if out, code := cli("deadletters", "list", "--service", "scorer"); code != 0 || !strings.Contains(out, "x:garbled-1") {
		t.Fatalf("after the failed replay the dead letter must stay (exit %d): %s", code, out)
	}
	if out, code := cli("deadletters", "list", "--service", "ingest"); code == 0 || !strings.Contains(out, "keeps no dead letters") {
		t.Fatalf("a service without dead letters (exit %d): %s", code, out)
	}
}
