-- wrk script of bench/load.py: Entra ID-shaped SCIM traffic against one Tenant URL.
--
--   wrk ... -s bench/scim.lua http://127.0.0.1:PORT -- KIND LIST_FILE TOKEN_FILE TENANT_PATH TAG
--
-- KIND        filter | get | post | patch
-- LIST_FILE   one value per line: percent-encoded userNames (filter) or SCIM ids (get, patch)
-- TOKEN_FILE  the Secret Token (first line); sent as "Authorization: Bearer ..."
-- TENANT_PATH e.g. /scim/v2/locations/1
-- TAG         unique per run: POSTed userNames are bench.TAG.THREAD.N@new.contoso.example
--
-- Request shapes follow Microsoft's published examples: "SCIM protocol requests and responses"
-- of "Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID" (Create User, Get
-- User, Get User by query; https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups)
-- and "Known issues and resolutions with SCIM 2.0 protocol compliance" (PATCH without the
-- aadOptscim062020 flag: capitalised ops, one path each, "True"/"False" strings; with it: lower-case
-- ops, a path-less value with dotted keys, booleans; https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).

local kind, base, tag
local items, count = {}, 0
local counter = 0

function setup(thread)
   thread_count = (thread_count or 0) + 1
   thread:set("thread_number", thread_count)
end

local function read_lines(path)
   local lines = {}
   local f = assert(io.open(path, "r"))
   for line in f:lines() do
      if line ~= "" then lines[#lines + 1] = line end
   end
   f:close()
   return lines
end

local function pick()
   return items[math.random(count)]
end

local function hex(digits)
   local parts = {}
   for i = 1, digits do parts[i] = string.format("%x", math.random(0, 15)) end
   return table.concat(parts)
end

local function uuid4()
   return hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
end

local CREATE = [[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",]]
   .. [["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],]]
   .. [["externalId":"%s","userName":"%s","active":true,]]
   .. [["emails":[{"primary":true,"type":"work","value":"%s"}],"meta":{"resourceType":"User"},]]
   .. [["name":{"formatted":"Bench User%d","familyName":"User%d","givenName":"Bench"},"roles":[]}]]

-- Without the flag: one Replace per attribute, "active" as a capitalised string.
local PATCH_PLAIN = [[{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]]
   .. [[{"op":"Replace","path":"title","value":"Title %s"},]]
   .. [[{"op":"Replace","path":"displayName","value":"Display %s"},]]
   .. [[{"op":"Replace","path":"name.familyName","value":"Family %s"},]]
   .. [[{"op":"Replace","path":"active","value":"%s"}]}]]

-- With the flag: a path-less replace with dotted keys, "active" as a boolean.
local PATCH_FLAGGED = [[{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]]
   .. [[{"op":"replace","value":{"title":"Title %s","displayName":"Display %s","name.familyName":"Family %s"}},]]
   .. [[{"op":"replace","path":"active","value":%s}]}]]

local builders = {
   filter = function()
      return wrk.format("GET", base .. "/Users?filter=userName+eq+%22" .. pick() .. "%22")
   end,
   get = function()
      return wrk.format("GET", base .. "/Users/" .. pick())
   end,
   post = function()
      counter = counter + 1
      local user = "bench." .. tag .. "." .. counter .. "@new.contoso.example"
      local body = string.format(CREATE, uuid4(), user, user, counter, counter)
      return wrk.format("POST", base .. "/Users", nil, body)
   end,
   patch = function()
      counter = counter + 1
      local stamp = tag .. "." .. counter
      local active = (counter % 4) ~= 0  -- every fourth PATCH disables, the others (re-)enable
      local body
      if counter % 2 == 0 then
         body = string.format(PATCH_FLAGGED, stamp, stamp, stamp, active and "true" or "false")
      else
         body = string.format(PATCH_PLAIN, stamp, stamp, stamp, active and "True" or "False")
      end
      return wrk.format("PATCH", base .. "/Users/" .. pick(), nil, body)
   end,
}

function init(args)
   kind, base = args[1], args[4]
   tag = args[5] .. "." .. tostring(thread_number or 1)
   local token = read_lines(args[3])[1]
   wrk.headers["Authorization"] = "Bearer " .. token
   wrk.headers["Accept"] = "application/scim+json"
   if kind == "post" or kind == "patch" then
      wrk.headers["Content-Type"] = "application/scim+json; charset=utf-8"
   end
   if kind ~= "post" then
      items = read_lines(args[2])
      count = #items
      assert(count > 0, "empty list file " .. args[2])
   end
   math.randomseed(os.time() + 7919 * (thread_number or 1))
   request = assert(builders[kind], "unknown kind " .. tostring(kind))
end
