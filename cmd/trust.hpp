// The trust step of `rp trust` and `rp setup`: rp's CA into the system's trust store and the
// user's NSS databases (Chromium, Firefox) and out again, and what `rp doctor` says of each
// store. What to change is decided in proxy/tls/trust_stores; this file looks at the stores (the
// CA's file, `certutil -L`), makes the changes, records them, and runs the system's update
// command.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cmd/invoking_user.hpp"
#include "supervisor/project/global_config.hpp"

namespace rp::cmd {

// Where the trust step acts.
struct TrustTarget {
  std::filesystem::path root = "/";  // the system's files are under it (--root), or "/"
  bool live = true;                  // without --root: the system's update commands are run
  InvokingUser user;                 // whose NSS databases; their home is under `root`
  std::filesystem::path ca_dir;      // RP_HOME/ca of that user
  std::vector<std::string> tlds;     // for a CA made now
};

// The target for the invoking user, with their RP_HOME and settings.
TrustTarget trust_target(const ForUser& who, const std::filesystem::path& root, bool live);

// Prints, per store, what --apply would do; false when rp's CA cannot be had. Makes the CA when
// there is none yet (the daemon makes it at its first start otherwise): the stores name it.
bool show_trust(const TrustTarget& target);
// Adds the CA where it is missing and records what it added; true when every store that exists
// trusts it now.
bool apply_trust(const TrustTarget& target);
// Removes what the record says --apply added; true when all of it is gone.
bool undo_trust(const TrustTarget& target);

// One store found, and whether it trusts rp's CA; for `rp doctor`, which changes nothing (a
// missing CA is not made: then no store trusts it yet).
struct TrustStatus {
  bool trusted = false;
  std::string detail;  // "Chromium /home/u/.pki/nssdb: trusted"
  std::string fix;
};
std::vector<TrustStatus> trust_status(const TrustTarget& target);

}  // namespace rp::cmd
