package keys

import "crypto"

// ThumbprintForTest is thumbprint, for the RFC 7638 test vector.
func ThumbprintForTest(pub crypto.PublicKey) string {
	s, err := thumbprint(pub)
	if err != nil {
		panic(err)
	}
	return s
}
