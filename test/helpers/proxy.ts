/**
 * A TCP proxy in front of PostgreSQL that a test can open and cut, to make the
 * database go away and come back for the app without touching the server.
 */
import { createServer, Socket, type Server } from 'node:net';

export interface TcpProxy {
  /** Listen (on `port`, or a free one) and forward to the target; resolves to the port. */
  open(port?: number): Promise<number>;
  /** Drop every connection and stop listening. */
  cut(): Promise<void>;
}

export function tcpProxy(target: URL): TcpProxy {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  return {
    open: (port = 0) =>
      new Promise<number>((resolve) => {
        server = createServer((client) => {
          const upstream = new Socket();
          upstream.connect(Number(target.port || 5432), target.hostname);
          client.pipe(upstream).pipe(client);
          const close = () => {
            client.destroy();
            upstream.destroy();
          };
          client.on('error', close);
          upstream.on('error', close);
          sockets.add(client).add(upstream);
        });
        server.listen(port, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
      }),
    cut: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        if (server) server.close(() => resolve());
        else resolve();
        server = null;
      }),
  };
}
