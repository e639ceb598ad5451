// Ports for tests that need a peer that is not there.
import net from 'node:net';

/** A loopback TCP port nobody listens on (bind 0, read, close): connects to it are refused. */
export async function freeTcpPortRefusing(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
