// The seed's journey in a real browser: register at the Customer Portal, confirm from
// the mail, an operator approves, first login with the one-time password, forced
// password change, the Customer Portal shows support information, the App Portal logs
// in without a form (SSO), logout from the App Portal signs out of both portals.
//
// Runs the release binaries (target/release/idp and target/release/relying-party-demo),
// a real SMTP server (smtp-server) and Debian's Chromium (playwright-core). Every
// request outside 127.0.0.1 is refused. Screenshots: tests/out/screenshots/.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IDP = path.join(ROOT, 'target/release/idp');
const RP = path.join(ROOT, 'target/release/relying-party-demo');
const SHOTS = path.join(ROOT, 'tests/out/screenshots');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-browser-'));
const children = [];
let lastPage = null; // for a screenshot when something fails

const step = (what) => console.log(`ok   ${what}`);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// ---- A real SMTP server keeping every message --------------------------------------
const mails = [];
async function startSmtp() {
  const port = await freePort();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), subject: mail.subject, text: mail.text });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, close: () => server.close() };
}

async function waitForMail(to, n) {
  for (let i = 0; i < 200; i++) {
    const got = mails.filter((m) => m.to.includes(to));
    if (got.length >= n) return got[n - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail #${n} to ${to}`);
}

// ---- The provider and the portals ----------------------------------------------------
function start(name, bin, args, env) {
  const log = fs.openSync(path.join(TMP, `${name}.log`), 'a');
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  children.push({ name, child });
  return child;
}

async function waitHttp(url) {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

// Asynchronous on purpose: the CLI delivers mail to the SMTP server in this process,
// whose event loop must keep running meanwhile.
async function cli(env, args) {
  const { stdout } = await promisify(execFile)(IDP, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  return stdout;
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const smtp = await startSmtp();
  const [idpPort, customerPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${idpPort}`;
  const customer = `http://127.0.0.1:${customerPort}`;
  const app = `http://127.0.0.1:${appPort}`;
  const idpEnv = {
    IDP_ISSUER: issuer,
    IDP_LISTEN: `127.0.0.1:${idpPort}`,
    IDP_DATABASE_URL: `sqlite://${TMP}/idp.sqlite3`,
    IDP_KEYS__KEK_FILE: `${TMP}/kek`,
    IDP_MAIL__SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    IDP_MAIL__POLL_INTERVAL_MS: '200',
    IDP_REGISTRATION__PORTAL_LOGIN_URL: `${customer}/`,
    IDP_LOG__FILTER: 'info,sqlx=warn',
  };
  const scope = 'openid profile email company roles support offline_access';
  const register = async (id, name, base) =>
    JSON.parse(
      await cli(idpEnv, [
        'clients', 'create', '--json', '--name', name, '--client-id', id,
        '--redirect-uri', `${base}/callback`, '--post-logout-redirect-uri', `${base}/`,
        '--backchannel-logout-uri', `${base}/backchannel-logout`, '--scope', scope,
      ]),
    );
  const customerClient = await register('customer-portal', 'Customer Portal', customer);
  const appClient = await register('app-portal', 'App Portal', app);
  start('idp', IDP, [], idpEnv);
  await waitHttp(`${issuer}/readyz`);
  start('portals', RP, [], {
    RP_ISSUER: issuer,
    CUSTOMER_PORTAL_LISTEN: `127.0.0.1:${customerPort}`,
    CUSTOMER_PORTAL_CLIENT_ID: customerClient.client_id,
    CUSTOMER_PORTAL_CLIENT_SECRET: customerClient.client_secret,
    APP_PORTAL_LISTEN: `127.0.0.1:${appPort}`,
    APP_PORTAL_CLIENT_ID: appClient.client_id,
    APP_PORTAL_CLIENT_SECRET: appClient.client_secret,
  });
  await waitHttp(`${customer}/healthz`);
  await waitHttp(`${app}/healthz`);
  step('provider, SMTP server and both portals are up');

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
  // Nothing but the provider and the portals on 127.0.0.1.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  lastPage = page;
  let shot = 0;
  const screenshot = async (name, p = page) => {
    shot += 1;
    await p.screenshot({ path: path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  // 1. The Customer Portal checks silently, finds no session, offers Login.
  await page.goto(`${customer}/`);
  await page.getByRole('button', { name: 'Login' }).waitFor();
  await screenshot('customer-portal-anonymous');
  await page.getByRole('button', { name: 'Login' }).click();
  await page.waitForURL(`${issuer}/login?**`);
  await screenshot('provider-login');
  step('the Customer Portal sends the browser to the provider\'s login page');

  // 2. Register with a business address; the summary follows the typing.
  await page.getByRole('link', { name: 'Register' }).first().click();
  await page.waitForURL(`${issuer}/register**`);
  const email = 'jane.doe@acme-industries.example';
  await page.locator('#complete').waitFor({ state: 'hidden' });
  await page.fill('#given_name', 'Jane');
  await page.fill('#family_name', 'Doe');
  await page.fill('#email', 'jane@gmail.com');
  await page.fill('#company', 'ACME Industries');
  await page.selectOption('#country', 'DE');
  await page.fill('#job_title', 'IT Manager');
  await page.check('#terms');
  assert.ok(await page.locator('#complete').isVisible(), 'the summary says everything is entered');
  await screenshot('registration-form-complete');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.locator('#email-error').waitFor();
  assert.match(await page.locator('#email-error').innerText(), /free e-mail providers/);
  await screenshot('registration-free-mail-refused');
  await page.fill('#email', email);
  await page.check('#terms');
  await page.getByRole('button', { name: 'Submit' }).click();
  await page.getByRole('heading', { name: 'Check your mailbox' }).waitFor();
  await screenshot('registration-check-mailbox');
  step('registration with a business address; a free-mail address is refused with a reason');

  // 3. Confirm from the mail.
  const confirmation = await waitForMail(email, 1);
  const link = confirmation.text.match(/https?:\/\/\S+/)[0];
  assert.ok(link.startsWith(`${issuer}/register/confirm?token=`), link);
  await page.goto(link);
  await screenshot('confirm-registration');
  await page.getByRole('button', { name: 'Confirm registration' }).click();
  await page.getByRole('heading', { name: 'Thank you' }).waitFor();
  await screenshot('registration-confirmed');
  step('the confirmation link from the mail');

  // 4. An operator approves; the company gets Priority support in EMEA.
  const pending = JSON.parse(await cli(idpEnv, ['registrations', 'list', '--json']));
  assert.equal(pending.length, 1);
  await cli(idpEnv, ['registrations', 'approve', pending[0].id]);
  await cli(idpEnv, ['companies', 'set', 'acme-industries.example', '--support-level', 'priority', '--region', 'EMEA']);
  const welcome = await waitForMail(email, 2);
  const username = welcome.text.match(/Username:\s*(\S+)/)[1];
  const otp = welcome.text.match(/One-time password:\s*(\S+)/)[1];
  assert.equal(username, email);
  step('approved with the CLI; the welcome mail has the username and a one-time password');

  // 5. First login with the one-time password, forced change, back at the portal.
  await page.goto(`${customer}/`);
  await page.getByRole('button', { name: 'Login' }).click();
  await page.waitForURL(`${issuer}/login?**`);
  await page.fill('#username', username);
  await page.fill('#password', otp);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${issuer}/password/new?**`);
  await screenshot('forced-password-change');
  const password = 'violet kettle drums at dawn';
  await page.fill('#new_password', 'password1234');
  await page.fill('#confirm_password', 'password1234');
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.locator('#password-error').waitFor();
  await page.fill('#new_password', password);
  await page.fill('#confirm_password', password);
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.waitForURL(`${customer}/`);
  await page.locator('.support-level').waitFor();
  assert.equal(await page.locator('.support-level').innerText(), 'Priority');
  assert.match(await page.locator('.support-phone').innerText(), /^\+\d/);
  assert.match(await page.locator('.support-pin').innerText(), /^\d{6}$/);
  assert.equal(await page.locator('.company').innerText(), 'ACME Industries');
  await screenshot('customer-portal-support');
  step('one-time password, forced change, the Customer Portal shows level, phone and PIN');

  // 6. The App Portal: same browser, no login form.
  const appPage = await context.newPage();
  const seen = [];
  appPage.on('framenavigated', (f) => f === appPage.mainFrame() && seen.push(f.url()));
  await appPage.goto(`${app}/`);
  await appPage.locator('.roles').waitFor();
  assert.ok(!seen.some((u) => u.startsWith(`${issuer}/login`)), `no login form: ${seen.join(' ')}`);
  assert.equal(await appPage.locator('.email').innerText(), email);
  assert.equal(await appPage.locator('.company').innerText(), 'ACME Industries');
  assert.match(await appPage.locator('.roles').innerText(), /super_admin/);
  await screenshot('app-portal-sso', appPage);
  step('the App Portal logs in through SSO and shows the same person');

  // 7. The provider's profile, linked from the portals.
  await appPage.getByRole('link', { name: 'Profile' }).first().click();
  await appPage.waitForURL(`${issuer}/profile`);
  await appPage.getByRole('heading', { name: 'Profile' }).waitFor();
  await screenshot('provider-profile', appPage);
  await appPage.goto(`${app}/`);

  // 8. Logout from the App Portal signs out of both portals and the provider.
  await appPage.getByRole('button', { name: 'Logout' }).click();
  await appPage.getByRole('button', { name: 'Login' }).waitFor();
  await screenshot('app-portal-logged-out', appPage);
  await page.goto(`${customer}/`);
  await page.getByRole('button', { name: 'Login' }).waitFor();
  assert.equal(await page.locator('.support-level').count(), 0);
  await screenshot('customer-portal-logged-out');
  // And the provider itself asks for a login again.
  await page.getByRole('button', { name: 'Login' }).click();
  await page.waitForURL(`${issuer}/login?**`);
  step('logout from the App Portal: both portals and the provider are signed out');

  await browser.close();
  smtp.close();
  console.log(`browser journey passed; screenshots in ${path.relative(ROOT, SHOTS)}`);
}

function stopAll() {
  for (const { child } of children) child.kill('SIGTERM');
}

main()
  .then(() => {
    stopAll();
    fs.rmSync(TMP, { recursive: true, force: true });
    process.exit(0);
  })
  .catch(async (err) => {
    console.error(err);
    if (lastPage) {
      try {
        await lastPage.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true });
        fs.writeFileSync(path.join(SHOTS, 'failure.html'), await lastPage.content());
        console.error(`failure page: ${lastPage.url()} (tests/out/screenshots/failure.png)`);
      } catch {
        // the browser is gone
      }
    }
    for (const { name } of children) {
      const log = path.join(TMP, `${name}.log`);
      if (fs.existsSync(log)) {
        console.error(`--- ${name} log (last lines)`);
        console.error(fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n'));
      }
    }
    stopAll();
    process.exit(1);
  });
