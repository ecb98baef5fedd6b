package replay

import (
	"os"
	"strings"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestReadTwitterCSV(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/twcs-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ms, stats, err := ReadTwitterCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Rows: 11, Mentions: 6, BrandReplies: 4, Skipped: 1}
	if stats != want {
		t.Errorf("stats = %+v, want %+v", stats, want)
	}
	var got []string
	for _, m := range ms {
		kind := "post"
		if m.GetBrandReply() {
			kind = "reply->" + m.GetReplyToAuthorId()
		}
		got = append(got, m.GetPlatformId()+":"+m.GetBrand()+":"+kind)
	}
	// In event time; 10 is about the first handle it names, 9 about the
	// brand it names among several handles, 12 answers a post not in the file.
	wantOrder := "8:sprintcare:post 6:sprintcare:reply->115712 5:sprintcare:post 4:sprintcare:reply->115712 " +
		"3:sprintcare:post 1:sprintcare:reply->115712 2:sprintcare:post 9:AmazonHelp:post 10:nobodyknown:post 12:AmazonHelp:reply->"
	if strings.Join(got, " ") != wantOrder {
		t.Errorf("mentions\n got %s\nwant %s", strings.Join(got, " "), wantOrder)
	}
	first := ms[0]
	if first.GetId() != "x:8" || first.GetPlatform() != fbv1.Platform_PLATFORM_X || first.GetAuthor().GetId() != "115712" ||
		first.GetText() != `@sprintcare is the worst customer service, "really"` || first.GetCreatedAt().AsTime().Hour() != 21 {
		t.Errorf("first mention = %v", first)
	}
	if ms[1].GetReplyToId() != "x:8" {
		t.Errorf("reply_to_id = %q, want x:8", ms[1].GetReplyToId())
	}
}

func TestReadTwitterCSVRefusesBadInput(t *testing.T) {
	t.Parallel()
	header := "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
	tests := []struct{ name, doc, want string }{
		{"wrong header", "id,text\n1,hi\n", "header"},
		{"bad date", header + "1,a,True,yesterday,hi,,\n", `line 2: created_at "yesterday"`},
		{"bad inbound", header + "1,a,maybe,Tue Oct 31 22:10:47 +0000 2017,hi,,\n", `line 2: inbound "maybe"`},
		{"missing column", header + "1,a,True\n", "wrong number of fields"},
		{"empty", "", "header"},
	}
	for _, tt := range tests {
		_, _, err := ReadTwitterCSV(strings.NewReader(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestReadNDJSON(t *testing.T) {
	t.Parallel()
	doc := `{"id":"x:2","brand":"acme","author":{"id":"a1","followers":"332000"},"text":"still broken","createdAt":"2025-03-01T10:00:00Z"}

{"id":"x:1","brand":"acme","author":{"id":"a1"},"text":"broken","createdAt":"2025-03-01T09:00:00Z"}
`
	ms, err := ReadNDJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].GetId() != "x:1" || ms[1].GetAuthor().GetFollowers() != 332000 {
		t.Errorf("mentions = %v, want x:1 then x:2 with 332000 followers", ms)
	}
	if _, err := ReadNDJSON(strings.NewReader("{\"id\":\"x:1\"}\n{nope}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: err = %v, want it to name line 2", err)
	}
}
