// Package storetest is the conformance suite of the storage contract that
// the root package declares (storage.go): one set of tests that every
// backend runs, so that each keeps the same promises. store/ runs it on
// SQLite and PostgreSQL; internal/memstore runs the user and token part.
//
// Each test is a subtest with a stable name and a store of its own from
// the constructor it is given. The suite only uses the interfaces: what a
// backend does beyond them (migrations, indexes, fixture loading) is tested
// beside the backend.
package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// UsersAndTokens is the part of the contract RunUserTests checks: what a
// store of users and DRF tokens alone implements.
type UsersAndTokens interface {
	gatehouse.UserStore
	gatehouse.TokenStore
}

// RunTests runs the whole conformance suite, each test on a new, empty
// store from newStore. It includes RunUserTests.
func RunTests(t *testing.T, newStore func(t *testing.T) gatehouse.Store) {
	RunUserTests(t, func(t *testing.T) UsersAndTokens { return newStore(t) })
	for _, tc := range storeTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// RunUserTests runs the tests of gatehouse.UserStore and
// gatehouse.TokenStore, each on a new, empty store from newStore.
func RunUserTests(t *testing.T, newStore func(t *testing.T) UsersAndTokens) {
	for _, tc := range userTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// userTests check UserStore and TokenStore; storeTests the rest, and the
// effects on OAuth and simplejwt records of the user methods.
var (
	userTests = []struct {
		name string
		fn   func(*testing.T, UsersAndTokens)
	}{
		{"UserCreateGetConflict", testUserCreateGetConflict},
		{"UserCreateWithTokenIsAtomic", testUserCreateWithTokenIsAtomic},
		{"UserFieldsRoundTrip", testUserFieldsRoundTrip},
		{"UserListFilterPaging", testUserListFilterPaging},
		{"UserListOrderedByID", testUserListOrderedByID},
		{"UserUpdate", testUserUpdate},
		{"UserUpdateRevokesCredentials", testUserUpdateRevokesCredentials},
		{"UserAuthEpochForwardOnly", testUserAuthEpochForwardOnly},
		{"UserUpdateConcurrent", testUserUpdateConcurrent},
		{"UserSetPasswordHash", testUserSetPasswordHash},
		{"UserTouchLogin", testUserTouchLogin},
		{"UserDelete", testUserDelete},
		{"UserValuesAreCopies", testUserValuesAreCopies},
		{"TokenLifecycle", testTokenLifecycle},
		{"TokenCreateFrom", testTokenCreateFrom},
		{"TokenConflicts", testTokenConflicts},
		{"TokenDefault", testTokenDefault},
		{"TokensOldestFirst", testTokensOldestFirst},
		{"TokenDeleteOtherUsers", testTokenDeleteOtherUsers},
		{"TokenTouch", testTokenTouch},
		{"TokenValuesAreCopies", testTokenValuesAreCopies},
		{"UserListActiveStaffSearch", testUserListActiveStaffSearch},
		{"UserListOrders", testUserListOrders},
		{"UserListBadOrder", testUserListBadOrder},
		{"UserListSuperuser", testUserListSuperuser},
		{"UserCountUpTo", testUserCountUpTo},
		{"UserSearchFollowsChanges", testUserSearchFollowsChanges},
	}
	storeTests = []struct {
		name string
		fn   func(*testing.T, gatehouse.Store)
	}{
		{"Ping", testPing},
		{"UserRevokeCredentialsEverywhere", testUserRevokeCredentialsEverywhere},
		{"UserDeleteCascades", testUserDeleteCascades},
		{"UserListGroup", testUserListGroup},
		{"RefreshRecordRotation", testRefreshRecordRotation},
		{"RefreshRecordLegacyFamily", testRefreshRecordLegacyFamily},
		{"RefreshRecordOwnBlacklisting", testRefreshRecordOwnBlacklisting},
		{"RefreshRecordsRotatedTogether", testRefreshRecordsRotatedTogether},
		{"RefreshRecordBlacklist", testRefreshRecordBlacklist},
		{"RefreshRecordConcurrentRotation", testRefreshRecordConcurrentRotation},
		{"RefreshRecordDeleteExpired", testRefreshRecordDeleteExpired},
		{"ApplicationLifecycle", testApplicationLifecycle},
		{"ReplaceSecretHash", testReplaceSecretHash},
		{"ApplicationFieldsAndList", testApplicationFieldsAndList},
		{"ApplicationAllowedOrigins", testApplicationAllowedOrigins},
		{"OAuthTokenLookup", testOAuthTokenLookup},
		{"OAuthCreateTokensConcurrent", testOAuthCreateTokensConcurrent},
		{"OAuthRevokeAccessToken", testOAuthRevokeAccessToken},
		{"OAuthRevokeRefreshToken", testOAuthRevokeRefreshToken},
		{"OAuthRotateAndFamily", testOAuthRotateAndFamily},
		{"OAuthRotateGraceAndExpiry", testOAuthRotateGraceAndExpiry},
		{"OAuthConcurrentRotation", testOAuthConcurrentRotation},
		{"OAuthRotationsTogether", testOAuthRotationsTogether},
		{"OAuthLegacyKeys", testOAuthLegacyKeys},
		{"OAuthRotateImportedPair", testOAuthRotateImportedPair},
		{"OAuthRotateInPlace", without(testOAuthRotateInPlace)},
		{"OAuthInPlaceForgedAndRevoked", without(testOAuthInPlaceForgedAndRevoked)},
		{"OAuthInPlaceGrace", without(testOAuthInPlaceGrace)},
		{"OAuthInPlaceConcurrent", without(testOAuthInPlaceConcurrent)},
		{"OAuthInPlaceGraceExpired", without(testOAuthInPlaceGraceExpired)},
		{"OAuthRotateInPlaceAhead", with(testOAuthRotateInPlace)},
		{"OAuthInPlaceForgedAndRevokedAhead", with(testOAuthInPlaceForgedAndRevoked)},
		{"OAuthInPlaceGraceAhead", with(testOAuthInPlaceGrace)},
		{"OAuthInPlaceConcurrentAhead", with(testOAuthInPlaceConcurrent)},
		{"OAuthInPlaceGraceExpiredAhead", with(testOAuthInPlaceGraceExpired)},
		{"OAuthAheadRefusals", testOAuthAheadRefusals},
		{"OAuthRedeemGrant", testOAuthRedeemGrant},
		{"OAuthRefreshKeyClash", testOAuthRefreshKeyClash},
		{"OAuthGrantsRedeemedTogether", testOAuthGrantsRedeemedTogether},
		{"OIDCAuthTimeAndLogoutURIs", testOIDCAuthTimeAndLogoutURIs},
		{"ApplicationUpdate", testApplicationUpdate},
		{"CredentialsListAndRevoke", testCredentialsListAndRevoke},
		{"Replicas", testReplicas},
		{"OAuthRedeemGrantRefusals", testOAuthRedeemGrantRefusals},
		{"OAuthCleanup", testOAuthCleanup},
		{"OAuthCleanupKeepsRedeemedCodes", testOAuthCleanupKeepsRedeemedCodes},
		{"SessionEnd", testSessionEnd},
		{"SessionRecords", testSessionRecords},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditLargeBatch", testAuditLargeBatch},
		{"AuditFilters", testAuditFilters},
		{"AuditPaging", testAuditPaging},
		{"AuditDeleteBefore", testAuditDeleteBefore},
		{"AuditOutlivesUsers", testAuditOutlivesUsers},
		{"PermissionLifecycle", testPermissionLifecycle},
		{"GroupLifecycle", testGroupLifecycle},
		{"UserPermissions", testUserPermissions},
		{"UserLinks", testUserLinks},
		{"PermissionDeletesCascade", testPermissionDeletesCascade},
		{"SigningKeyRoundTrip", testSigningKeyRoundTrip},
		{"SigningKeyUpdate", testSigningKeyUpdate},
		{"SigningKeyDeleteExpired", testSigningKeyDeleteExpired},
		{"SigningKeyConcurrentUpdates", testSigningKeyConcurrentUpdates},
		{"DeviceGrantCreateAndLookup", testDeviceGrantCreateAndLookup},
		{"DeviceGrantDecide", testDeviceGrantDecide},
		{"DeviceGrantPoll", testDeviceGrantPoll},
		{"DeviceGrantPollIsAtomic", testDeviceGrantPollIsAtomic},
		{"DeviceGrantConcurrentPolls", testDeviceGrantConcurrentPolls},
		{"DeviceGrantCleanupAndCascade", testDeviceGrantCleanupAndCascade},
	}
)

// newUser stores an active user called name with a default token whose
// key is "key-"+name.
func newUser(t *testing.T, s gatehouse.UserStore, name string) gatehouse.User {
	t.Helper()
	u := gatehouse.User{Username: name, Email: name + "@example.com", Password: "!", IsActive: true, DateJoined: time.Now()}
	tok := gatehouse.Token{Hash: secret.Hash("key-" + name), Prefix: "key-", IsDefault: true, Sealed: []byte("sealed")}
	if err := s.CreateUser(t.Context(), &u, &tok); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u
}

// micro is t as a store keeps it.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
