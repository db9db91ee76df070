#!/usr/bin/env bash
# From nothing to a mounted encrypted store, the ACR-with-CMK way:
# a vault with a key, an identity allowed get/wrapKey/unwrapKey, a store whose
# volume key is wrapped by that key, mounted at ./mnt.
# Re-running reuses what exists. State lives in ./.quickstart/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/setup.sh
scripts/build.sh "$root/build"
cmkfs="$root/build/src/cli/cmkfs"
state="$root/.quickstart"
vault="$state/vault"
store="$state/store"
mnt="$root/mnt"
identity=registry-id

mkdir -p "$state" "$mnt"
if [ ! -f "$vault/vault.json" ]; then
  "$cmkfs" vault create "$vault" --purge-protection --retention-days 7 >/dev/null
  "$cmkfs" vault key create --vault "$vault" --name registry-kek --kty RSA --size 3072 >/dev/null
  "$cmkfs" vault set-policy --vault "$vault" --identity "$identity" --key-permissions get wrapKey unwrapKey >/dev/null
  echo "created vault $vault with key registry-kek and a policy for $identity"
fi
# Version-less key id: the store follows the key's latest version.
kid="local://$vault/keys/registry-kek"

if [ ! -f "$store/.cmkfs.volume" ]; then
  "$cmkfs" init "$store" --provider local --identity "$identity" --key-encryption-key "$kid" >/dev/null
  echo "created store $store"
fi

if ! mountpoint -q "$mnt"; then
  "$cmkfs" mount "$store" "$mnt" -o check_interval=5s
fi

echo
"$cmkfs" encryption show "$mnt" --output table
cat <<MSG

Mounted: $mnt  (plain files)  ->  $store  (ciphertext)
Try:      echo hello > $mnt/hello.txt && ls -la $store
Revoke:   $cmkfs vault delete-policy --vault $vault --identity $identity
Restore:  $cmkfs vault set-policy --vault $vault --identity $identity --key-permissions get wrapKey unwrapKey
Unmount:  $cmkfs umount $mnt
MSG
