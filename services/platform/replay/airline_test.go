package replay

import (
	"os"
	"strings"
	"testing"
)

func TestReadAirlineCSV(t *testing.T) {
	f, err := os.Open("testdata/airline-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ms, stats, err := ReadAirlineCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Rows != 3 || len(ms) != 3 {
		t.Fatalf("stats %+v, %d mentions", stats, len(ms))
	}
	for _, m := range ms {
		if m.Brand != "virgin-america" || m.Author.Id == "" || m.Text == "" || m.Id != "x:"+m.PlatformId {
			t.Fatalf("mention %v", m)
		}
	}
	if !ms[0].CreatedAt.AsTime().Before(ms[2].CreatedAt.AsTime()) {
		t.Fatal("not in event time")
	}
}

func TestReadAirlineCSVSaysWhatIsWrong(t *testing.T) {
	for name, in := range map[string]string{
		"other layout": "a,b\n1,2\n",
		"bad time":     "tweet_id,airline,name,retweet_count,text,tweet_created\n1,Delta,dan,0,hi,yesterday\n",
		"bad count":    "tweet_id,airline,name,retweet_count,text,tweet_created\n1,Delta,dan,many,hi,2015-02-24 11:15:48 -0800\n",
	} {
		if _, _, err := ReadAirlineCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzReadAirlineCSV(f *testing.F) {
	f.Add([]byte("tweet_id,airline,name,retweet_count,text,tweet_created\n1,Delta,dan,0,hi,2015-02-24 11:15:48 -0800\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, _, err := ReadAirlineCSV(strings.NewReader(string(data)))
		for _, m := range ms {
			if err == nil && (m.Brand == "" || m.PlatformId == "") {
				t.Fatalf("mention without brand or id: %v", m)
			}
		}
	})
}
