package escalation

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestOneCallerCannotHoldMoreThanItsShareOfCaseStreams(t *testing.T) {
	var w watchers
	var leaves []func()
	for range maxWatchesPerCaller {
		leave, err := w.enter("key:ana")
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leave)
	}
	if _, err := w.enter("key:ana"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stream %d: %v, want ResourceExhausted", maxWatchesPerCaller+1, err)
	}
	if leave, err := w.enter("key:vic"); err != nil {
		t.Fatalf("another caller is not limited by ana's streams: %v", err)
	} else {
		leave()
	}
	leaves[0]()
	if _, err := w.enter("key:ana"); err != nil {
		t.Fatalf("a closed stream frees its slot: %v", err)
	}
}
