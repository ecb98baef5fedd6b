// Package x takes mentions in from X (Twitter) webhooks: the CRC challenge
// and signature of both the X Activity API and the Account Activity API,
// and their post-created events turned into mentions and brand replies.
// Parsing and signing are pure; webhook.go is the HTTP adapter.
package x

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// SignatureHeader carries the HMAC of every POST's body.
const SignatureHeader = "X-Twitter-Webhooks-Signature"

// ErrBadSignature means the body was not signed with the app's consumer
// secret: a forgery, or the wrong secret configured.
var ErrBadSignature = errors.New("x-twitter-webhooks-signature does not match the body; check --x-consumer-secret-file")

// ResponseToken answers a CRC challenge: "sha256=" and the base64 of the
// HMAC-SHA256 of crc_token keyed with the consumer secret.
func ResponseToken(secret []byte, crcToken string) string {
	return "sha256=" + sign(secret, []byte(crcToken))
}

// Verify checks a POST's signature header against its body.
func Verify(secret, body []byte, header string) error {
	got, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return ErrBadSignature
	}
	// Compare the decoded MACs in constant time, so a forger learns
	// nothing from how long a wrong guess takes.
	gotMAC, err := base64.StdEncoding.DecodeString(got)
	if err != nil {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(gotMAC, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

func sign(secret, data []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(data)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
