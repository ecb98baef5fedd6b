package bus

import "github.com/redis/go-redis/v9"

// storeDownPrefixes are Redis errors that say the store cannot serve for
// now rather than that the command was wrong: a cluster re-forming after a
// restart or failover (CLUSTERDOWN, TRYAGAIN), a node still loading its
// data (LOADING), a replica without its primary (MASTERDOWN), a write that
// reached a demoted primary (READONLY).
var storeDownPrefixes = []string{"CLUSTERDOWN", "TRYAGAIN", "LOADING", "MASTERDOWN", "READONLY"}

// storeDown reports whether err is Redis saying it is out for now. The
// readiness check may still pass, answered by a node that is up, so the
// error itself has to count as the outage.
func storeDown(err error) bool {
	for _, p := range storeDownPrefixes {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}
