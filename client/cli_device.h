// SPDX-License-Identifier: Apache-2.0
// The X3DH device commands of `kt` (docs/x3dh.md "CLI"): `kt device ...`,
// `kt send`, `kt receive`, and the plumbing they share (the device store
// under STATE/device, device-authenticated requests, exit codes).
#ifndef KT_CLIENT_CLI_DEVICE_H_
#define KT_CLIENT_CLI_DEVICE_H_

#include <filesystem>
#include <memory>
#include <string>

#include "client/cli_internal.h"
#include "client/prekey_client.h"
#include "core/status.h"
#include "x3dh/device_store.h"

namespace kt::client {

// Commands (each returns an exit code and prints its own errors).
int CmdDevice(CliEnv& env);   // kt device init USER DEVICE | register | publish-prekeys | stats
int CmdSend(CliEnv& env);     // kt send USER MESSAGE
int CmdReceive(CliEnv& env);  // kt receive

// ResolveLogUrl is the log URL OpenEnv used: --log, $KT_LOG, or the
// policy's only log.
std::string ResolveLogUrl(const CliEnv& env);
// DeviceDir is STATE/device.
std::filesystem::path DeviceDir(const CliEnv& env);
// OpenDevice opens the device store; a missing device is IOError (exit 7)
// telling the user to run `kt device init`.
core::StatusOr<std::unique_ptr<x3dh::DeviceStore>> OpenDevice(const CliEnv& env,
                                                              x3dh::DeviceStoreOptions options);
// DeviceAuthFor signs requests with the store's identity key (the store
// must outlive the returned function).
AuthHeader DeviceAuthFor(const x3dh::DeviceStore& store);
// ExitForX3dh is the exit code of a failure: an x3dh key_changed is 6, any
// other x3dh reason 2 (verification), everything else ExitCodeFor.
int ExitForX3dh(const core::Status& s);
// FailX3dh prints the error and returns ExitForX3dh.
int FailX3dh(const CliEnv& env, const core::Status& s);

}  // namespace kt::client

#endif  // KT_CLIENT_CLI_DEVICE_H_
