package escalation

import (
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxWatchesPerCaller bounds the WatchCases streams one caller holds open
// on one replica: each costs a subscription and a buffer, and a console
// tab needs one. The zero watchers is ready to use.
const maxWatchesPerCaller = 8

// watchers counts open WatchCases streams per caller.
type watchers struct {
	mu     sync.Mutex
	byWhom map[string]int
}

// enter takes a stream slot for who, or refuses with ResourceExhausted;
// the returned func gives the slot back.
func (w *watchers) enter(who string) (func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byWhom[who] >= maxWatchesPerCaller {
		return nil, status.Errorf(codes.ResourceExhausted, "%s already has %d case streams open here; close one first", who, maxWatchesPerCaller)
	}
	if w.byWhom == nil {
		w.byWhom = map[string]int{}
	}
	w.byWhom[who]++
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.byWhom[who]--; w.byWhom[who] <= 0 {
			delete(w.byWhom, who)
		}
	}, nil
}
