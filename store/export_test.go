package store

// GroupedAccessTokens reports how many access tokens s stored through
// multi-row statements.
func GroupedAccessTokens(s *Store) int64 { return s.access.grouped.Load() }
