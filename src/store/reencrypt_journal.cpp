#include "store/reencrypt_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "crypto/kdf.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

namespace {

using nlohmann::json;
const std::string kJournalFile(kReencryptJournalName);
constexpr int kJournalVersion = 1;

json times_json(const timespec &t) { return json{{"sec", t.tv_sec}, {"nsec", t.tv_nsec}}; }

timespec times_from(const json &j) {
    timespec t{};
    t.tv_sec = j.at("sec").get<time_t>();
    t.tv_nsec = j.at("nsec").get<long>();
    return t;
}

}  // namespace

bool reencrypt_journal_exists(int root_fd) {
    struct stat st {};
    if (::fstatat(root_fd, kJournalFile.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
    if (errno != ENOENT) throw_errno("stat " + kJournalFile);
    return false;
}

std::optional<ReencryptJournal> load_reencrypt_journal(int root_fd, const std::string &backing) {
    const std::string origin = backing + "/" + kJournalFile;
    std::vector<uint8_t> raw;
    try {
        raw = read_file_at(root_fd, kJournalFile);
    } catch (const SystemError &e) {
        if (e.error_number() == ENOENT) return std::nullopt;
        throw;
    }
    json j = json::parse(raw.begin(), raw.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        throw IntegrityError(origin + ": not a valid re-encryption journal: not a JSON object");
    try {
        if (j.at("reencrypt_journal").get<int>() != kJournalVersion)
            throw IntegrityError(origin + ": re-encryption journal of an unknown version");
        ReencryptJournal journal;
        journal.new_header_text = j.at("new_header").dump(2) + "\n";
        journal.new_header = format::parse_volume_header(journal.new_header_text, origin);
        journal.started = j.at("started").get<std::string>();
        journal.root_atime = times_from(j.at("root_atime"));
        journal.root_mtime = times_from(j.at("root_mtime"));
        return journal;
    } catch (const json::exception &e) {
        throw IntegrityError(origin + ": not a valid re-encryption journal: " + e.what());
    }
}

void save_reencrypt_journal(int root_fd, const ReencryptJournal &journal) {
    json doc{
        {"reencrypt_journal", kJournalVersion},
        {"started", journal.started},
        {"root_atime", times_json(journal.root_atime)},
        {"root_mtime", times_json(journal.root_mtime)},
        {"new_header", json::parse(journal.new_header_text)},
    };
    const std::string text = doc.dump(2) + "\n";
    write_file_atomic(root_fd, kJournalFile, crypto::as_bytes(text), 0600);
}

void remove_reencrypt_journal(int root_fd) {
    if (::unlinkat(root_fd, kJournalFile.c_str(), 0) != 0 && errno != ENOENT) throw_errno("remove " + kJournalFile);
    if (::fsync(root_fd) != 0) throw_errno("fsync backing directory");
}

void refuse_if_reencrypting(int root_fd, const std::string &backing) {
    if (!reencrypt_journal_exists(root_fd)) return;
    throw Error(EBUSY, backing + " is half way through a re-encryption (" + kJournalFile +
                           " exists); run `cmkfs reencrypt " + backing + "` to finish it");
}

}  // namespace cmkfs::store
