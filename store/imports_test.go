package store_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// LoadBatch stores a batch and the import's mark in one transaction: a
// batch that fails stores neither, so the mark never runs ahead of the
// rows; ForgetImport clears one source's marks only.
func TestLoadBatchRecordsProgress(t *testing.T) {
	user := func(id int64, name string) gatehouse.User {
		return gatehouse.User{ID: id, Username: name, Password: "!", IsActive: true, DateJoined: time.Now()}
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		first := store.ImportMark{Source: "/django.sqlite3", Table: "auth_user", LastKey: "2", Rows: 2}
		if err := s.LoadBatch(ctx, fixture.Set{Users: []gatehouse.User{user(1, "a"), user(2, "b")}}, first); err != nil {
			t.Fatal(err)
		}
		if err := s.LoadBatch(ctx, fixture.Set{}, store.ImportMark{Source: "postgres://other/db", Table: "auth_user", LastKey: "7", Rows: 7}); err != nil {
			t.Fatal(err)
		}
		// "b" again: the batch fails, and the mark stays at 2.
		bad := store.ImportMark{Source: "/django.sqlite3", Table: "auth_user", LastKey: "4", Rows: 4}
		if err := s.LoadBatch(ctx, fixture.Set{Users: []gatehouse.User{user(3, "c"), user(4, "b")}}, bad); err == nil {
			t.Fatal("a batch with a duplicate username was stored")
		}
		marks, err := s.ImportMarks(ctx, "/django.sqlite3")
		if err != nil || len(marks) != 1 || marks["auth_user"] != first {
			t.Fatalf("marks %v %v", marks, err)
		}
		if _, err := s.User(ctx, 3); err == nil {
			t.Fatal("a row of the failed batch was stored")
		}
		next := store.ImportMark{Source: "/django.sqlite3", Table: "auth_user", LastKey: "3", Rows: 3}
		if err := s.LoadBatch(ctx, fixture.Set{Users: []gatehouse.User{user(3, "c")}}, next); err != nil {
			t.Fatal(err)
		}
		if marks, _ := s.ImportMarks(ctx, "/django.sqlite3"); marks["auth_user"] != next {
			t.Fatalf("marks after the next batch: %v", marks)
		}
		if err := s.ForgetImport(ctx, "/django.sqlite3"); err != nil {
			t.Fatal(err)
		}
		if marks, _ := s.ImportMarks(ctx, "/django.sqlite3"); len(marks) != 0 {
			t.Fatalf("marks after ForgetImport: %v", marks)
		}
		if marks, _ := s.ImportMarks(ctx, "postgres://other/db"); marks["auth_user"].LastKey != "7" {
			t.Fatalf("another source's marks: %v", marks)
		}
	})
}
