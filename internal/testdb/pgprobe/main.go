// Command pgprobe tells `make test` whether the tests can run on PostgreSQL.
// It prints "postgres" on standard output when GATEHOUSE_TEST_POSTGRES_URL
// names a reachable server, else "sqlite", and says which on standard error
// in one line (for "sqlite": why, and how to enable PostgreSQL). With
// GATEHOUSE_TEST_POSTGRES_REQUIRED=1 (CI) an unreachable server is an error:
// it prints nothing on standard output and exits 2.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

func main() { os.Exit(probe(os.Getenv, os.Stdout, os.Stderr)) }

func probe(getenv func(string) string, stdout, stderr io.Writer) int {
	url := getenv("GATEHOUSE_TEST_POSTGRES_URL")
	required := getenv("GATEHOUSE_TEST_POSTGRES_REQUIRED") == "1"
	err := ping(url)
	if err != nil {
		err = errors.New(strings.Join(strings.Fields(err.Error()), " ")) // one line
	}
	switch {
	case err == nil:
		fmt.Fprintln(stderr, "tests: PostgreSQL reachable; every storage and HTTP test runs on SQLite and PostgreSQL")
		fmt.Fprintln(stdout, "postgres")
		return 0
	case required:
		fmt.Fprintf(stderr, "tests: PostgreSQL is required (GATEHOUSE_TEST_POSTGRES_REQUIRED=1) and unusable: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "tests: PostgreSQL NOT tested (%v); SQLite only. Set GATEHOUSE_TEST_POSTGRES_URL=postgres://... to a reachable server to test it too\n", err)
	fmt.Fprintln(stdout, "sqlite")
	return 0
}

func ping(url string) error {
	if url == "" {
		return fmt.Errorf("GATEHOUSE_TEST_POSTGRES_URL is empty")
	}
	if !store.IsPostgres(url) {
		return fmt.Errorf("GATEHOUSE_TEST_POSTGRES_URL is not a postgres:// URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// The driver's errors name host, user and database, never the password.
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	// Before any test starts, the user search's pg_trgm goes into public
	// (testdb.PgTrgmInPublic says why).
	testdb.PgTrgmInPublic(st.DB())
	return st.Close()
}
