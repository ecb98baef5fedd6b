// Package accounts knows each brand's own accounts on each platform, so
// that a brand reply is taken only from the brand's account and never on a
// body's word alone: a caller that could mark any post "brand_reply" could
// end any customer's unanswered streak. It does no I/O.
package accounts

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/mention"
)

// Accounts is the brands' own account ids, by brand and platform. The zero
// value knows no account, so it refuses every brand reply.
type Accounts struct {
	ids map[string]map[fbv1.Platform]map[string]bool
}

// Parse reads "acme=x:2244994945,acme=mastodon:109876,acme=bluesky:did:plc:abc":
// brand=platform:account-id pairs, a brand naming as many accounts as it has.
func Parse(s string) (Accounts, error) {
	var a Accounts
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		brand, rest, ok1 := strings.Cut(pair, "=")
		platform, id, ok2 := strings.Cut(rest, ":")
		p, known := mention.ParsePlatform(platform)
		if !ok1 || !ok2 || brand == "" || id == "" || platform == "" || !known || strings.ContainsAny(id, " \t") {
			return Accounts{}, fmt.Errorf("%q is not brand=platform:account-id (e.g. acme=x:2244994945); platforms are x, mastodon, bluesky and generic", pair)
		}
		a.Add(brand, p, id)
	}
	return a, nil
}

// Add records id as brand's own account on platform p.
func (a *Accounts) Add(brand string, p fbv1.Platform, id string) {
	if a.ids == nil {
		a.ids = map[string]map[fbv1.Platform]map[string]bool{}
	}
	if a.ids[brand] == nil {
		a.ids[brand] = map[fbv1.Platform]map[string]bool{}
	}
	if a.ids[brand][p] == nil {
		a.ids[brand][p] = map[string]bool{}
	}
	a.ids[brand][p][id] = true
}

// CheckBrandReply refuses a mention that claims to be the brand's reply
// but whose author is not one of the brand's accounts on its platform, and
// says what to configure when the brand has none there. Other mentions
// pass.
func (a Accounts) CheckBrandReply(m *fbv1.Mention) error {
	if !m.GetBrandReply() {
		return nil
	}
	platform := mention.PlatformName(m.Platform)
	own := a.ids[m.Brand][m.Platform]
	author := m.GetAuthor().GetId()
	switch {
	case len(own) == 0:
		return fmt.Errorf("brand_reply is only taken from the brand's own account, and no %s account is configured for brand %q; start ingest with --brand-accounts=%s=%s:<the account's id>",
			platform, m.Brand, m.Brand, platform)
	case !own[author]:
		return fmt.Errorf("brand_reply from author %q, which is not %s's own %s account (%s); a brand reply must come from the brand's account",
			author, m.Brand, platform, strings.Join(slices.Sorted(maps.Keys(own)), ", "))
	}
	return nil
}
