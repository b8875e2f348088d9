// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/store.hpp"

#include <patch_core/errors.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace patching::controller {

/// One prepared statement. Bind with 1-based indexes, then step().
class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, std::int64_t value);
    Statement& bind_null(int index);
    /// Advances; returns true while a row is available.
    bool step();
    /// Steps a statement that returns no rows.
    void run();
    std::string column_text(int index) const;
    std::int64_t column_int(int index) const;
    bool column_is_null(int index) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

/// An SQLite database in WAL mode with full synchronous commits, so a crash at any point
/// leaves either the old or the new state of each transaction. Not thread-safe: callers
/// serialise access (SqliteStore holds a mutex).
class Database {
public:
    explicit Database(const std::filesystem::path& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void exec(std::string_view sql);
    Statement prepare(std::string_view sql);
    sqlite3* handle() const { return db_; }
    const std::filesystem::path& path() const { return path_; }

    /// RAII transaction: rolled back unless commit() is called.
    class Transaction {
    public:
        explicit Transaction(Database& db);
        ~Transaction();
        Transaction(const Transaction&) = delete;
        Transaction& operator=(const Transaction&) = delete;
        void commit();

    private:
        Database& db_;
        bool done_ = false;
    };

private:
    std::filesystem::path path_;
    sqlite3* db_ = nullptr;
};

}  // namespace patching::controller
