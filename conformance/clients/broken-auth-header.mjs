// BROKEN on purpose (conformance kit example): sends its key as "Authorization: <key>", without the
// Bearer scheme (as HTTP libraries' "API key" helpers do), on the upgrade and on the upload. The API
// refuses it with 401 ih2001 every time: no session ever opens, no upload is analyzed. On an upload it
// surfaces the ih2001 it got, which is not enough: the credential is the client's to get right.
// Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-auth-header', authorization: (key) => key };

runAsCommand(import.meta.url, hooks);
