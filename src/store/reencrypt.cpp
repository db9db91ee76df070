#include "store/reencrypt.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "crypto/kdf.h"
#include "format/volume_header.h"
#include "store/fsck.h"
#include "store/header_settings.h"
#include "store/keyring.h"
#include "store/reencrypt_journal.h"
#include "store/store_lock.h"
#include "util/errors.h"
#include "util/fault.h"

namespace cmkfs::store {

namespace {

format::VolumeKeys unwrap_new_key(keys::KeyProvider &provider, const ReencryptJournal &journal,
                                  const std::string &origin) {
    const auto &h = journal.new_header;
    auto plain = provider.unwrap({h.versioned_key_id, h.identity}, h.wrapped_key);
    if (plain.size() != format::kVolumeKeySize) throw IntegrityError(origin + ": new volume key has the wrong size");
    format::VolumeKeys keys{crypto::VolumeKey(std::move(plain))};
    format::verify_volume_header(h, keys.header_mac(), origin);
    return keys;
}

// A new volume key, wrapped by the same CMK and identity, in a complete new
// header (same volume id, root id and settings). Written to the journal
// before anything is converted.
ReencryptJournal begin(const Volume &volume, keys::KeyProvider &provider) {
    const format::VolumeHeader &old = volume.header();
    auto volume_key = format::generate_volume_key();
    auto wrapped = provider.wrap({old.key_id, old.identity}, volume_key.bytes());
    ReencryptJournal journal;
    journal.new_header = old;
    journal.new_header.format_version = format::kFormatVersion;  // re-encryption writes the current format
    journal.new_header.wrapped_key = std::move(wrapped.wrapped);
    journal.new_header.versioned_key_id = wrapped.versioned_key_id.empty() ? old.key_id : wrapped.versioned_key_id;
    // Prove the wrapped key opens before anything depends on it.
    auto check = provider.unwrap({journal.new_header.versioned_key_id, old.identity}, journal.new_header.wrapped_key);
    if (!crypto::equal_ct(check.span(), volume_key.bytes()))
        throw std::runtime_error("provider " + provider.name() + " did not return the wrapped key on unwrap");
    format::VolumeKeys keys(std::move(volume_key));
    journal.new_header_text = format::seal_volume_header(journal.new_header, keys.header_mac());
    journal.started = format::utc_now_rfc3339();
    struct stat st {};
    if (::fstat(volume.root_fd(), &st) != 0) throw_errno("stat " + volume.backing());
    journal.root_atime = st.st_atim;
    journal.root_mtime = st.st_mtim;
    return journal;
}

void verify_before_start(const Volume &volume, const Keyring::Access &access,
                         const std::function<void(const ReencryptProgress &)> &progress) {
    ReencryptProgress p;
    p.phase = ReencryptProgress::Phase::verify;
    auto report = check_volume(volume, access, [&](const FsckProgress &f) {
        p.done.files = f.files;
        p.done.directories = f.directories;
        p.done.bytes = f.bytes;
        progress(p);
    });
    if (!report.problems.empty()) {
        const auto &first = report.problems.front();
        throw IntegrityError(std::to_string(report.problems.size()) + " integrity problem(s) under the current key (" +
                             first.backing + ": " + first.what +
                             "); nothing was changed. Run `cmkfs fsck " + volume.backing() +
                             "`, repair or remove what it reports, then re-encrypt");
    }
}

}  // namespace

ReencryptSummary reencrypt_volume(Volume &volume, keys::KeyProvider &provider,
                                  const std::function<void(const ReencryptProgress &)> &progress,
                                  bool upgrade_only) {
    StoreLock lock(volume.root_fd(), volume.backing(), StoreLock::Mode::exclusive, upgrade_only ? "upgrade" : "reencrypt");
    const int root = volume.root_fd();
    const std::string journal_path = volume.backing() + "/" + std::string(kReencryptJournalName);
    volume.reload_header();  // now that nothing else can change it

    ReencryptSummary summary;
    Keyring old_ring;
    old_ring.unlock(volume.unlock(provider));
    auto old_access = old_ring.access();

    std::optional<ReencryptJournal> journal = load_reencrypt_journal(root, volume.backing());
    summary.resumed = journal.has_value();
    if (!journal && upgrade_only && header_only_upgrade(volume.header().format_version)) {
        // 2 -> 3: the data stays as it is; one atomic header replacement
        // (run again after a crash: the header is the old or the new one).
        upgrade_header(volume, old_access.keys());
        summary.header_only = true;
        return summary;
    }
    if (!journal) {
        if (upgrade_only && volume.header().format_version >= format::kFormatVersion)
            throw Error(EALREADY, volume.backing() + " is already at format version " +
                                      std::to_string(volume.header().format_version) +
                                      " (the current one); nothing to upgrade");
        verify_before_start(volume, old_access, progress);
        journal = begin(volume, provider);
        // The binding learns the new key before the journal exists: a resumed
        // run then takes only that key from the (untrusted) journal.
        volume.begin_key_change(unwrap_new_key(provider, *journal, journal_path).volume_key(), /*fresh=*/true);
        save_reencrypt_journal(root, *journal);
        fault_point("reencrypt", "after-journal");
    }
    format::VolumeKeys new_keys = unwrap_new_key(provider, *journal, journal_path);
    volume.begin_key_change(new_keys.volume_key(), /*fresh=*/false);

    // After the header swap the current header opens with the new key: only
    // the journal's removal was left to do.
    const bool swapped = crypto::equal_ct(old_access.keys().volume_key().bytes(), new_keys.volume_key().bytes());
    if (!swapped) {
        const ReencryptKeys keys{old_access.keys(), new_keys, volume.header().format_version,
                                 journal->new_header.format_version};
        ReencryptProgress p;
        p.total = count_tree(root);
        progress(p);
        TreeConverter converter(root, volume.backing(), volume.header().plaintext_names, keys,
                                [&](const TreeCounts &done) {
                                    p.done = done;
                                    progress(p);
                                });
        converter.run(volume.header().root_dir_id);
        converter.remove_staging();
        if (::fsync(root) != 0) throw_errno("fsync " + volume.backing());
        summary.counts = converter.counts();
        fault_point("reencrypt", "before-header");
        volume.write_header(journal->new_header, new_keys.header_mac());
        fault_point("reencrypt", "after-header");
    }
    volume.commit_key_change();
    remove_reencrypt_journal(root);
    const timespec times[2] = {journal->root_atime, journal->root_mtime};
    if (::futimens(root, times) != 0) throw_errno("restore times of " + volume.backing());
    return summary;
}

}  // namespace cmkfs::store
