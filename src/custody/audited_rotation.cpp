#include "custody/audited_rotation.h"

#include "util/fault.h"

namespace cmkfs::custody {

format::VolumeHeader audited_rotation(store::Volume &volume, const std::function<format::VolumeKeys()> &get_keys,
                                      keys::KeyProvider &new_provider, const store::RotationTarget &target,
                                      AuditLog &audit, const std::string &trigger) {
    const format::VolumeHeader before = volume.header();
    nlohmann::json fields = {
        {"trigger", trigger},
        {"backing", volume.backing()},
        {"fromKeyId", before.versioned_key_id},
        {"toKeyId", target.key_id},
        {"fromProvider", before.provider},
        {"toProvider", target.provider},
        {"fromIdentity", before.identity},
        {"toIdentity", target.identity},
    };
    audit.record("rotation-started", fields);
    try {
        fault_point(store::kRotationFaultArea, "begin");
        fault_point(store::kRotationFaultArea, "unwrap");
        const format::VolumeKeys keys = get_keys();
        format::VolumeHeader after = store::rewrap_volume_key(volume, keys, new_provider, target);
        fields["toVersionedKeyId"] = after.versioned_key_id;
        fields["lastKeyRotationTimestamp"] = after.last_rotation;
        audit.record("rotation-committed", fields);
        return after;
    } catch (const std::exception &e) {
        const std::string in_effect = volume.header().versioned_key_id;
        fields["error"] = e.what();
        fields["inEffectKeyId"] = in_effect;
        fields["headerChanged"] = volume.header().wrapped_key != before.wrapped_key;
        audit.record("rotation-aborted", fields);
        throw;
    }
}

}  // namespace cmkfs::custody
