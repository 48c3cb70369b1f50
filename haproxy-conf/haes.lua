-- haes.lua: haes inside HAProxy 2.6+ (Lua 5.3), loaded with lua-load in the
-- global section (haproxy-conf/haproxy-lua.cfg; docs/haproxy.md#lua).
--
-- 1. "haes ..." commands on HAProxy's stats socket, answered by the haes
--    agent through its admin socket (docs/admin.md: one command line, the
--    reply ends with an empty line). The agent's reply is printed as it is,
--    then one last line with the outcome:
--      haes: ok           the agent did it
--      haes: refused      the agent refused or failed it ("error: ..." above)
--      haes: bad usage    the command line was wrong (nothing done)
--      haes: unreachable  no connection to the agent's admin socket
--      haes: bad reply    the reply was cut off or did not come in time (a
--                         command that changes state may have run: look at
--                         "haes status")
-- 2. Action lua.haes_fallback: the last-known-verdict fallback, off by
--    default. When the agent did not answer HAProxy's SPOE message, it puts
--    the last cluster the agent named (kept by haproxy-lua.cfg in
--    proc.haes_last_cluster / proc.haes_last_epoch / proc.haes_last_ms) back
--    into txn.haes.cluster and txn.haes.allow, if that answer is at most
--    HAES_FALLBACK_FOR old, and sets txn.haes_fallback_ms (its age). Past
--    that, nothing is set and the frontend fails closed. Risk: the cluster
--    may have been fenced meanwhile (docs/haproxy.md#the-last-known-verdict-fallback).
--
-- Settings come from HAProxy's environment, read once when the file is
-- loaded: put "setenv" or "presetenv" lines BEFORE lua-load. A bad value
-- stops HAProxy from starting (and fails "haproxy -c"), naming the setting.
--   HAES_ADMIN_SOCKET  path of the agent's admin socket    [/run/haes/admin.sock]
--   HAES_CLI_COMMANDS  "all", or "read": only status and events [all]
--   HAES_CLI_TIMEOUT   longest wait for a reply, in seconds; status and
--                      events wait at most 15 s         [3600]
--   HAES_FALLBACK_FOR  how old the last verdict may be and still be used;
--                      0s is off; at most 10m (e.g. 500ms, 5s, 2m) [0s]
--
-- HAProxy 2.6 runs Lua CLI commands at any stats socket level: whoever can
-- connect to any stats socket of this HAProxy can run "haes failback".
-- Use HAES_CLI_COMMANDS=read where that is not wanted.

local function setting(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    return default
  end
  return v
end

local function bad_setting(name, value, expected)
  error(string.format("haes.lua: %s=%q is not valid: expected %s", name, value, expected), 0)
end

-- "500ms", "5s", "2m" -> milliseconds, or nil.
local function duration_ms(text)
  local n, unit = string.match(text, "^(%d+)(m?s?)$")
  if n == nil then
    return nil
  end
  n = tonumber(n)
  if unit == "ms" then
    return n
  elseif unit == "s" then
    return n * 1000
  elseif unit == "m" then
    return n * 60000
  end
  return nil
end

local ADMIN_SOCKET = setting("HAES_ADMIN_SOCKET", "/run/haes/admin.sock")
if string.sub(ADMIN_SOCKET, 1, 1) ~= "/" then
  bad_setting("HAES_ADMIN_SOCKET", ADMIN_SOCKET, "an absolute path")
end

local CLI_COMMANDS = setting("HAES_CLI_COMMANDS", "all")
if CLI_COMMANDS ~= "all" and CLI_COMMANDS ~= "read" then
  bad_setting("HAES_CLI_COMMANDS", CLI_COMMANDS, '"all" or "read"')
end

local CLI_TIMEOUT_TEXT = setting("HAES_CLI_TIMEOUT", "3600")
local CLI_TIMEOUT = tonumber(string.match(CLI_TIMEOUT_TEXT, "^%d+$") or "")
if CLI_TIMEOUT == nil or CLI_TIMEOUT < 1 or CLI_TIMEOUT > 86400 then
  bad_setting("HAES_CLI_TIMEOUT", CLI_TIMEOUT_TEXT, "whole seconds from 1 to 86400")
end

local FALLBACK_TEXT = setting("HAES_FALLBACK_FOR", "0s")
local FALLBACK_MS = duration_ms(FALLBACK_TEXT)
if FALLBACK_MS == nil or FALLBACK_MS > 600000 then
  bad_setting("HAES_FALLBACK_FOR", FALLBACK_TEXT, "a duration from 0s to 10m, e.g. 500ms, 5s, 2m (0s: off)")
end

-- ---- the admin socket ------------------------------------------------------

-- HAProxy's connect error says only "Can't connect": ask the file system why.
local function why_unreachable()
  local f, err = io.open(ADMIN_SOCKET, "r")
  if f ~= nil then
    f:close()
  end
  err = tostring(err)
  if string.find(err, "No such file", 1, true) then
    return "no such socket (is the agent running? is HAES_ADMIN_SOCKET its admin.socket?)"
  elseif string.find(err, "Permission denied", 1, true) then
    return "permission denied (HAProxy's user may not connect: see the agent's admin.mode)"
  end
  return "connection refused (no agent listening on it)"
end

-- One request: sends line, reads the reply up to its empty line.
-- Returns the reply lines and nil, or the lines read so far and an outcome
-- ("unreachable" or "bad reply") with a message.
local function ask(line, timeout)
  local sock = core.tcp()
  sock:settimeout(timeout)
  local ok, err = sock:connect("unix@" .. ADMIN_SOCKET)
  if not ok then
    sock:close()
    return {}, "unreachable", "cannot reach haes-agent at " .. ADMIN_SOCKET .. ": " .. why_unreachable()
  end
  local sent, serr = sock:send(line .. "\n")
  if not sent then
    sock:close()
    return {}, "unreachable", "cannot send to haes-agent at " .. ADMIN_SOCKET .. ": " .. tostring(serr)
  end
  local lines = {}
  while true do
    local got, rerr = sock:receive("*l")
    if got == nil then
      sock:close()
      return lines, "bad reply", "the agent's reply was cut off or did not come within " .. timeout ..
          " s (" .. tostring(rerr) .. ")"
    end
    if got == "" then
      break
    end
    lines[#lines + 1] = got
  end
  sock:close()
  return lines, nil
end

-- A word list as one double-quoted argument of the admin protocol.
local function quoted(text)
  return '"' .. string.gsub(text, '[\\"]', "\\%0") .. '"'
end

local function reason_of(words, from)
  local rest = table.concat(words, " ", from)
  if rest == "" then
    return "via the HAProxy CLI"
  end
  return "via the HAProxy CLI: " .. rest
end

-- ---- the commands ----------------------------------------------------------

-- name -> {usage, mutates, build(words) -> admin line or nil, error}
-- words: what followed "haes <name>" on the CLI.
local COMMANDS = {}
local ORDER = {}

local function command(name, usage, mutates, build)
  COMMANDS[name] = {usage = usage, mutates = mutates, build = build}
  ORDER[#ORDER + 1] = name
end

command("status", "haes status", false, function(w)
  if #w > 0 then
    return nil, "status takes no argument"
  end
  return "status"
end)

command("events", "haes events [N]", false, function(w)
  if #w == 0 then
    return "events"
  end
  if #w > 1 or not string.match(w[1], "^%d+$") then
    return nil, "events takes one number, the count of events to show"
  end
  return "events " .. w[1]
end)

command("failback", "haes failback [reason...]", true, function(w)
  return "failback --reason " .. quoted(reason_of(w, 1))
end)

command("switchover", "haes switchover <cluster> [reason...]", true, function(w)
  if #w == 0 or not string.match(w[1], "^[%w][%w_.-]*$") then
    return nil, "switchover needs the name of the cluster to make active"
  end
  return "switchover --to " .. w[1] .. " --reason " .. quoted(reason_of(w, 2))
end)

command("pause", "haes pause <reason...>", true, function(w)
  if #w == 0 then
    return nil, "pause needs a reason (the words after pause)"
  end
  return "pause --reason " .. quoted(reason_of(w, 1))
end)

command("resume", "haes resume", true, function(w)
  if #w > 0 then
    return nil, "resume takes no argument"
  end
  return "resume"
end)

local function usage_text()
  local out = {}
  for _, name in ipairs(ORDER) do
    out[#out + 1] = "  " .. COMMANDS[name].usage
  end
  return table.concat(out, "\n")
end

local function run(applet, name, words)
  local cmd = COMMANDS[name]
  local line, uerr = cmd.build(words)
  if line == nil then
    applet:send("error: " .. uerr .. "\nusage:\n" .. usage_text() .. "\nhaes: bad usage\n")
    return
  end
  if cmd.mutates and CLI_COMMANDS ~= "all" then
    applet:send("error: haes " .. name .. " is not allowed here (HAES_CLI_COMMANDS=" .. CLI_COMMANDS ..
                "): only status and events; use haesctl\nhaes: refused\n")
    return
  end
  local timeout = CLI_TIMEOUT
  if not cmd.mutates and timeout > 15 then
    timeout = 15
  end
  local lines, outcome, message = ask(line, timeout)
  for _, l in ipairs(lines) do
    applet:send(l .. "\n")
  end
  if outcome ~= nil then
    applet:send("error: " .. message .. "\nhaes: " .. outcome .. "\n")
  elseif lines[1] ~= nil and string.sub(lines[1], 1, 19) == "error: bad command:" then
    applet:send("haes: bad usage\n")
  elseif lines[1] ~= nil and string.sub(lines[1], 1, 7) == "error: " then
    applet:send("haes: refused\n")
  else
    applet:send("haes: ok\n")
  end
end

-- HAProxy passes every word of the command line, "haes" and the command
-- name included.
for _, name in ipairs(ORDER) do
  core.register_cli({"haes", name}, COMMANDS[name].usage .. ": haes-agent's " .. name ..
                    " (haes.lua)", function(applet, ...)
    local words = {...}
    run(applet, name, {table.unpack(words, 3)})
  end)
end

core.register_cli({"haes"}, "haes: the haes agent's commands (haes.lua; haes help)", function(applet, ...)
  local words = {...}
  local known = words[2] == nil or words[2] == "help"
  applet:send((known and "" or ("error: unknown haes command '" .. words[2] .. "'\n")) ..
              "usage:\n" .. usage_text() .. "\nagent: " .. ADMIN_SOCKET .. ", commands: " .. CLI_COMMANDS ..
              "\nhaes: " .. (known and "ok" or "bad usage") .. "\n")
end)

-- ---- the last-known-verdict fallback ---------------------------------------

core.register_action("haes_fallback", {"http-req"}, function(txn)
  if FALLBACK_MS == 0 then
    return
  end
  local cluster = txn:get_var("proc.haes_last_cluster")
  local at = txn:get_var("proc.haes_last_ms")
  if cluster == nil or at == nil then
    return
  end
  local now = core.now()
  local age = now.sec * 1000 + now.usec // 1000 - at
  if age < 0 or age > FALLBACK_MS then
    txn:set_var("txn.haes_fallback_expired_ms", age)
    return
  end
  txn:set_var("txn.haes.cluster", cluster)
  txn:set_var("txn.haes.allow", true)
  txn:set_var("txn.haes_fallback_ms", age)
  txn:set_var("txn.haes_fallback_epoch", txn:get_var("proc.haes_last_epoch") or 0)
end, 0)
