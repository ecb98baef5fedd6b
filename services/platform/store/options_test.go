package store

import (
	"strings"
	"testing"
)

func TestSentinelAndClusterKeepTheURLsTLSUserAndPassword(t *testing.T) {
	opts, where, err := universalOptions(Options{URL: "rediss://firebreak:s3cret@ignored.example:6380/0", Addrs: []string{"sentinel-0:26379", "sentinel-1:26379"}, MasterName: "fb"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLSConfig == nil || opts.TLSConfig.ServerName != "" || opts.Username != "firebreak" || opts.Password != "s3cret" {
		t.Fatalf("TLS %v (server name %q), user %q, password kept %v", opts.TLSConfig != nil, opts.TLSConfig.ServerName, opts.Username, opts.Password == "s3cret")
	}
	if len(opts.Addrs) != 2 || where != "sentinel-0:26379,sentinel-1:26379" {
		t.Fatalf("addrs %v, where %q", opts.Addrs, where)
	}
	opts, _, err = universalOptions(Options{URL: "redis://firebreak:in-url@redis:6379/2", Password: "from-file"})
	if err != nil || opts.Password != "from-file" || opts.Username != "firebreak" || opts.DB != 2 || opts.TLSConfig != nil {
		t.Fatalf("one server: %+v %v", opts, err)
	}
}

func TestABadRedisURLIsReportedWithoutItsPassword(t *testing.T) {
	for _, raw := range []string{"redis://user:hunter2@redis:notaport/0", "ftp://user:hunter2@redis/0", "redis://user:hunter2@redis:6379/x"} {
		_, _, err := universalOptions(Options{URL: raw})
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "does not parse") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
