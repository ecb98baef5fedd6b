// Package score turns the text of a mention into a Score: sentiment, complaint
// likelihood, topics, toxicity and urgency, and checks an agent's draft reply
// before it is sent. It is pure computation (its lexicons and model are
// embedded), so the scorer service, the CLI and the tests share it.
//
// Scoring is one streaming pass over the text: a VADER-style lexicon scorer
// (negation, intensifiers, capitals, elongation, punctuation, emoji) runs
// alongside a hashed linear model trained on labelled tweets, and the two are
// combined. Without a model the lexicon path alone is used, for users who
// cannot accept the training data's licence.
package score
