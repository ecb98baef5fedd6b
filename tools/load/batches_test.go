package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// metricsServer serves a service's /metrics with the given batch sizes
// (consumer -> {sum, count}); none serves a service without batch
// consumers.
func metricsServer(t *testing.T, sizes map[string][2]int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# HELP firebreak_messages_processed_total messages handled\n# TYPE firebreak_messages_processed_total counter\nfirebreak_messages_processed_total{consumer=\"x\",outcome=\"ack\"} 7\n")
	if len(sizes) > 0 {
		b.WriteString("# HELP firebreak_message_batch_size messages handled together\n# TYPE firebreak_message_batch_size histogram\n")
		for consumer, s := range sizes {
			fmt.Fprintf(&b, "firebreak_message_batch_size_bucket{consumer=%q,otel_scope_name=\"firebreak/bus\",le=\"+Inf\"} %d\n", consumer, s[1])
			fmt.Fprintf(&b, "firebreak_message_batch_size_sum{consumer=%q,otel_scope_name=\"firebreak/bus\"} %d\n", consumer, s[0])
			fmt.Fprintf(&b, "firebreak_message_batch_size_count{consumer=%q,otel_scope_name=\"firebreak/bus\"} %d\n", consumer, s[1])
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// Replicas of a service share their consumers' names: their batches add
// up, and a phase's are the difference of two readings.
func TestBatchesAddUpAcrossReplicasAndPhases(t *testing.T) {
	urls := []string{
		metricsServer(t, map[string][2]int{"escalation-join": {120, 10}, "scorer-score": {30, 30}}),
		metricsServer(t, map[string][2]int{"escalation-join": {80, 30}}),
		metricsServer(t, nil), // ingest: no batch consumer
	}
	got, err := ReadBatches(context.Background(), urls)
	if err != nil {
		t.Fatal(err)
	}
	if j := got["escalation-join"]; j.Messages != 200 || j.Batches != 40 || j.PerBatch() != 5 {
		t.Errorf("escalation-join over two replicas = %+v (%.1f per batch), want 200 messages in 40 batches", j, j.PerBatch())
	}
	if all := got.All(); all.Messages != 230 || all.Batches != 70 {
		t.Errorf("all consumers = %+v, want 230 messages in 70 batches", all)
	}
	phase := got.Since(Batches{"escalation-join": {Messages: 100, Batches: 20}})
	if j := phase["escalation-join"]; j.Messages != 100 || j.Batches != 20 {
		t.Errorf("escalation-join since the earlier reading = %+v, want 100 in 20", j)
	}
	if s := phase.String(); s != "escalation-join 5.0, scorer-score 1.0" {
		t.Errorf("String() = %q", s)
	}
	if (BatchCount{}).PerBatch() != 0 {
		t.Error("no batches should be 0 per batch, not NaN")
	}
}

func TestBatchesFromAServiceThatFailsAreAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	_, err := ReadBatches(context.Background(), []string{srv.URL + "/metrics"})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("ReadBatches from a failing service: %v, want its status", err)
	}
}
