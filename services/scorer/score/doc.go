// Package score turns the text of a mention into a Score: sentiment, complaint
// likelihood, topics, toxicity and urgency, and checks an agent's draft reply
// before it is sent. It is pure computation (its lexicons and model are
// embedded), so the scorer service, the CLI and the tests share it.
//
// Scoring is one streaming pass over the text: a VADER-style lexicon scorer
// (negation, intensifiers, capitals, elongation, punctuation, emoji) runs
// alongside a hashed linear model, and the two are combined as the model's
// Blend says. Two models are built in: "default", trained on commercially
// usable data and blended with the lexicon, and "airline", trained on
// CC BY-NC-SA airline tweets (non-commercial use); teams can train their own
// (package train). Without a model the lexicon path alone is used.
package score
