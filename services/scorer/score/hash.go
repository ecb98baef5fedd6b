package score

// FNV-1a over normalised bytes gives each word a 64-bit identity; every
// lookup (lexicon, topics, model features) is keyed by such hashes so the hot
// path never builds strings.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 {
	return (h ^ uint64(b)) * fnvPrime64
}

// hashString is the offline (table-building) form of the word hash.
func hashString(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

// mix is the splitmix64 finaliser: it spreads combined hashes over all bits
// before they are masked down to a model bucket.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// pairKey and tripleKey identify word sequences, for phrases and bigrams.
func pairKey(a, b uint64) uint64 { return mix(a*0x9e3779b97f4a7c15 ^ b) }

func tripleKey(a, b, c uint64) uint64 { return mix(pairKey(a, b)*0x9e3779b97f4a7c15 ^ c) }

// Salts keep the feature families apart in the shared hashed weight table.
const (
	saltUnigram uint64 = 0x1f3a5c7e9b2d4f61
	saltBigram  uint64 = 0x6c8e1a3b5d7f9e20
	saltChar    uint64 = 0x3d5f7a9c1e2b4d68
	saltNegated uint64 = 0x58a1c3e5f7092b4d
)
