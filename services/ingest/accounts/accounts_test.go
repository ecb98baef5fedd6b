package accounts

import (
	"strings"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func reply(brand string, p fbv1.Platform, author string) *fbv1.Mention {
	return &fbv1.Mention{Brand: brand, Platform: p, BrandReply: true, ReplyToAuthorId: "dan", Author: &fbv1.Author{Id: author}}
}

func TestBrandRepliesAreTakenOnlyFromTheBrandsOwnAccount(t *testing.T) {
	a, err := Parse("acme=x:2244994945, acme=bluesky:did:plc:acme,globex=generic:care-desk")
	if err != nil {
		t.Fatal(err)
	}
	x, bsky, generic := fbv1.Platform_PLATFORM_X, fbv1.Platform_PLATFORM_BLUESKY, fbv1.Platform_PLATFORM_GENERIC
	tests := []struct {
		name string
		m    *fbv1.Mention
		want string // "" accepted, else part of the refusal
	}{
		{"the brand's X account", reply("acme", x, "2244994945"), ""},
		{"a DID with colons", reply("acme", bsky, "did:plc:acme"), ""},
		{"a generic account", reply("globex", generic, "care-desk"), ""},
		{"a customer claiming to be the brand", reply("acme", x, "42"), `author "42", which is not acme's own x account (2244994945)`},
		{"another brand's account", reply("globex", x, "2244994945"), "--brand-accounts=globex=x:<the account's id>"},
		{"a platform with no account", reply("acme", fbv1.Platform_PLATFORM_MASTODON, "109"), "no mastodon account is configured for brand \"acme\""},
		{"not a brand reply", &fbv1.Mention{Brand: "acme", Platform: x, Author: &fbv1.Author{Id: "42"}}, ""},
	}
	for _, tc := range tests {
		err := a.CheckBrandReply(tc.m)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want a refusal containing %q", tc.name, err, tc.want)
		}
	}
	var none Accounts
	if err := none.CheckBrandReply(reply("acme", x, "2244994945")); err == nil {
		t.Fatal("no accounts configured, yet a brand reply was taken")
	}
}

func TestParseRefusesWhatIsNotBrandPlatformID(t *testing.T) {
	for _, bad := range []string{"acme", "acme=x", "acme=x:", "=x:1", "acme=myspace:1", "acme=x:a b"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := Parse(""); err != nil {
		t.Fatalf("empty: %v", err)
	}
}
