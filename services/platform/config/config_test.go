package config

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func parse(t *testing.T, args []string, env map[string]string) (Common, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c Common
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs, "svc", ":8080", ":9090")
	if err := Parse(fs, args, io.Discard); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestEnvironmentFillsFlagsNotGiven(t *testing.T) {
	c, err := parse(t, []string{"--log-level", "debug"}, map[string]string{
		"FIREBREAK_NATS_URL":  "nats://nats:4222",
		"FIREBREAK_LOG_LEVEL": "error",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSURL != "nats://nats:4222" {
		t.Errorf("NATSURL = %q, want it from the environment", c.NATSURL)
	}
	if c.LogLevel != "debug" {
		t.Errorf("LogLevel = %q, want the flag to win over the environment", c.LogLevel)
	}
}

func TestEveryProblemIsReportedWithSettingAndFix(t *testing.T) {
	_, err := parse(t, nil, map[string]string{
		"FIREBREAK_REDIS_URL":      "http://nope",
		"FIREBREAK_SUBJECT_PREFIX": "a.b",
		"FIREBREAK_LOG_LEVEL":      "loud",
	})
	if err == nil {
		t.Fatal("invalid settings accepted")
	}
	for _, want := range []string{"--redis-url (FIREBREAK_REDIS_URL)", "--subject-prefix", "--log-level (FIREBREAK_LOG_LEVEL) must be"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	_, err := parse(t, nil, map[string]string{"FIREBREAK_SHUTDOWN_TIMEOUT": "soon"})
	if err == nil || !strings.Contains(err.Error(), `FIREBREAK_SHUTDOWN_TIMEOUT="soon"`) {
		t.Fatalf("err = %v, want it to name the variable and value", err)
	}
}

func TestRedactedHidesPassword(t *testing.T) {
	if got := Redacted("redis://user:secret@host:6379/0"); strings.Contains(got, "secret") {
		t.Fatalf("Redacted = %q", got)
	}
}

func TestTLSFilesComeInPairs(t *testing.T) {
	t.Run("mutual TLS without a server certificate", func(t *testing.T) {
		if _, err := parse(t, []string{"--tls-client-ca", "/tls/ca.crt"}, nil); err == nil || !strings.Contains(err.Error(), "--tls-client-ca (FIREBREAK_TLS_CLIENT_CA) needs --tls-cert") {
			t.Fatalf("err = %v", err)
		}
	})
	c, err := parse(t, nil, map[string]string{"FIREBREAK_TLS_CERT": "/tls/tls.crt", "FIREBREAK_TLS_CLIENT_CA": "/tls/ca.crt"})
	if err == nil || !strings.Contains(err.Error(), "--tls-key (FIREBREAK_TLS_KEY) and --tls-cert go together") {
		t.Fatalf("a certificate without its key: err = %v", err)
	}
	if c.TLS.Cert != "/tls/tls.crt" || c.TLS.ClientCA != "/tls/ca.crt" {
		t.Fatalf("TLS = %+v, want the files from the environment", c.TLS)
	}
}

func TestNATSUserNeedsItsPasswordFile(t *testing.T) {
	t.Run("environment", func(t *testing.T) {
		c, err := parse(t, nil, map[string]string{"FIREBREAK_NATS_USER": "scorer", "FIREBREAK_NATS_PASSWORD_FILE": "/run/secrets/nats"})
		if err != nil || c.NATSUser != "scorer" || c.NATSPassFile != "/run/secrets/nats" {
			t.Fatalf("user and password file from the environment: %+v, %v", c, err)
		}
	})
	if _, err := parse(t, []string{"--nats-user=scorer"}, nil); err == nil || !strings.Contains(err.Error(), "--nats-password-file (FIREBREAK_NATS_PASSWORD_FILE) and --nats-user go together") {
		t.Fatalf("a user without a password file: err = %v", err)
	}
	if _, err := parse(t, []string{"--nats-user=scorer", "--nats-password-file=p", "--nats-creds-file=c"}, nil); err == nil || !strings.Contains(err.Error(), "--nats-creds-file") {
		t.Fatalf("a user and a creds file: err = %v", err)
	}
}

func TestStreamBudgetsAreNounsWithSizes(t *testing.T) {
	c, err := parse(t, []string{"--stream-max-bytes", "mentions=20GiB, deadletter=512MiB"}, map[string]string{"FIREBREAK_STREAM_SCALE_DOWN": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if c.StreamMaxBytes["mentions"] != 20<<30 || c.StreamMaxBytes["deadletter"] != 512<<20 || len(c.StreamMaxBytes) != 2 || !c.StreamScaleDown {
		t.Fatalf("budgets %v, scale down %v", c.StreamMaxBytes, c.StreamScaleDown)
	}
	for _, bad := range []string{"tweets=1GiB", "mentions=lots", "mentions=0", "mentions"} {
		_, err := parse(t, []string{"--stream-max-bytes", bad}, nil)
		if err == nil || !strings.Contains(err.Error(), "stream-max-bytes") {
			t.Errorf("--stream-max-bytes %s: %v, want a refusal naming the flag", bad, err)
		}
	}
}

func TestMentionPartitionsAreBetweenOneAndTheBound(t *testing.T) {
	if c, err := parse(t, nil, nil); err != nil || c.MentionPartitions != 1 {
		t.Fatalf("default: %d partitions, %v; want 1, today's one stream", c.MentionPartitions, err)
	}
	c, err := parse(t, nil, map[string]string{"FIREBREAK_MENTION_PARTITIONS": "4"})
	if err != nil || c.MentionPartitions != 4 {
		t.Fatalf("4 partitions: %d, %v", c.MentionPartitions, err)
	}
	for _, bad := range []string{"0", "65"} {
		_, err := parse(t, []string{"--mention-partitions", bad}, nil)
		if err == nil || !strings.Contains(err.Error(), "--mention-partitions (FIREBREAK_MENTION_PARTITIONS) must be between 1 and 64") {
			t.Errorf("--mention-partitions %s: %v, want it refused", bad, err)
		}
	}
}
