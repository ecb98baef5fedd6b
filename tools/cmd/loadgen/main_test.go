package main

import (
	"slices"
	"testing"
)

func TestReplicaCountsAreParsedAndBounded(t *testing.T) {
	got, err := replicaCounts(" 1, 2,4 ")
	if err != nil || !slices.Equal(got, []int{1, 2, 4}) {
		t.Fatalf("replicaCounts(1,2,4) = %v, %v", got, err)
	}
	if got, err := replicaCounts(""); err != nil || got != nil {
		t.Fatalf("an empty --scale skips the runs, got %v, %v", got, err)
	}
	for _, bad := range []string{"0", "two", "1,99", "-1"} {
		if _, err := replicaCounts(bad); err == nil {
			t.Fatalf("--scale %q must be refused", bad)
		}
	}
}
