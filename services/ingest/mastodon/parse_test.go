package mastodon

import (
	"os"
	"strings"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func message(t *testing.T, name string) Message {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMentionNotificationFromTheStream(t *testing.T) {
	n, err := message(t, "notification_message.json").Notification()
	if err != nil {
		t.Fatal(err)
	}
	m, ok, err := n.Mention("acme")
	if err != nil || !ok {
		t.Fatalf("%v %v", ok, err)
	}
	want := "@acme my broadband is down & nobody answers\n\nthird time\nasking"
	if m.Text != want || m.PlatformId != "113000000000000104" || m.Author.Followers != 332000 || m.Author.Handle != "dan@example.social" ||
		m.Metrics.Likes != 5 || m.Platform != fbv1.Platform_PLATFORM_MASTODON || m.Visibility != fbv1.Visibility_VISIBILITY_PUBLIC {
		t.Fatalf("mention %v\ntext %q", m, m.Text)
	}
}

func TestBrandsOwnReplyFromTheStream(t *testing.T) {
	st, err := message(t, "update_message.json").Status()
	if err != nil {
		t.Fatal(err)
	}
	m, ok, err := st.BrandReply("acme", "7")
	if err != nil || !ok || !m.BrandReply || m.ReplyToAuthorId != "42" || m.ReplyToId != "mastodon:113000000000000104" {
		t.Fatalf("%v %v %v", m, ok, err)
	}
	if _, ok, _ := st.BrandReply("acme", "8"); ok {
		t.Fatal("someone else's status on the home timeline is not a brand reply")
	}
}

func TestOtherNotificationsAreNotMentions(t *testing.T) {
	if _, ok, _ := (Notification{ID: "1", Type: "favourite"}).Mention("acme"); ok {
		t.Fatal("a favourite is not a mention")
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"<p>a &lt;b&gt; c</p>": "a <b> c",
		"<p>one</p><p>two</p>": "one\n\ntwo",
		"line<br>break":        "line\nbreak",
		`<a href="x"><span class="invisible">https://</span>ex.com</a>`: "https://ex.com",
		"plain": "plain",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewer(t *testing.T) {
	if !Newer("1000", "999") || Newer("999", "1000") || Newer("5", "5") || !Newer("113000000000000105", "113000000000000104") {
		t.Fatal("Newer compares ids as numbers")
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, name := range []string{"notification_message.json", "update_message.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := ParseMessage(data)
		if err != nil {
			return
		}
		if n, err := msg.Notification(); err == nil {
			if m, ok, _ := n.Mention("acme"); ok && (m.Brand != "acme" || m.PlatformId != n.Status.ID) {
				t.Fatalf("bad mention %v", m)
			}
		}
		if st, err := msg.Status(); err == nil {
			if m, ok, _ := st.BrandReply("acme", "7"); ok && m.ReplyToAuthorId == "" {
				t.Fatal("brand reply without the author it answers")
			}
		}
	})
}

func FuzzText(f *testing.F) {
	f.Add("<p>hello <b>world</b></p>")
	f.Add("<p><span class=\"h-card\"><a href=\"https://m.s/@acme\">@<span>acme</span></a></span> hi &amp; bye<br/>x</p>")
	f.Fuzz(func(t *testing.T, in string) {
		_ = Text(in)
	})
}

func TestConversationIsABrandReplyOnlyWhenTheBrandWritesToOnePerson(t *testing.T) {
	brand := Account{ID: "7", Acct: "acme"}
	dan, eve := Account{ID: "42"}, Account{ID: "77"}
	status := func(by Account, visibility, inReplyTo string) *Status {
		return &Status{ID: "300", CreatedAt: "2025-11-24T16:10:00Z", Account: by, Visibility: visibility, InReplyToAccountID: inReplyTo, Content: "<p>hi</p>"}
	}
	tests := []struct {
		name string
		c    Conversation
		want string // the customer answered, "" when not taken
	}{
		{"a DM to one customer", Conversation{ID: "1", Accounts: []Account{dan}, LastStatus: status(brand, "direct", "")}, "42"},
		{"an answer in a group thread", Conversation{ID: "1", Accounts: []Account{dan, eve}, LastStatus: status(brand, "direct", "77")}, "77"},
		{"a new message to a group", Conversation{ID: "1", Accounts: []Account{dan, eve}, LastStatus: status(brand, "direct", "")}, ""},
		{"the customer's message", Conversation{ID: "1", Accounts: []Account{dan}, LastStatus: status(dan, "direct", "")}, ""},
		{"not direct", Conversation{ID: "1", Accounts: []Account{dan}, LastStatus: status(brand, "public", "")}, ""},
		{"no status", Conversation{ID: "1", Accounts: []Account{dan}}, ""},
	}
	for _, tc := range tests {
		m, ok, err := tc.c.BrandReply("acme", "7")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		switch {
		case tc.want == "" && ok:
			t.Errorf("%s: taken: %v", tc.name, m)
		case tc.want != "" && (!ok || m.ReplyToAuthorId != tc.want || !m.BrandReply || m.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE):
			t.Errorf("%s: got %v %v, want a private brand reply to %s", tc.name, m, ok, tc.want)
		}
	}
}

func TestAQuotePostNamesTheQuotedStatus(t *testing.T) {
	b, err := os.ReadFile("testdata/notification_message.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, quote := range map[string]string{
		"quoted status":    `\"quote\":{\"state\":\"accepted\",\"quoted_status\":{\"id\":\"113000000000000099\"}},`,
		"quoted status id": `\"quote\":{\"state\":\"accepted\",\"quoted_status_id\":\"113000000000000099\"},`,
	} {
		msg, err := ParseMessage([]byte(strings.Replace(string(b), `\"reblog\":null`, quote+`\"reblog\":null`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		n, err := msg.Notification()
		if err != nil {
			t.Fatal(err)
		}
		m, ok, err := n.Mention("acme")
		if err != nil || !ok || m.QuoteOfId != "mastodon:113000000000000099" {
			t.Fatalf("%s: %v %v %v", name, m, ok, err)
		}
	}
}
