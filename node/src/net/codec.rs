//! Framing for `/copnet/sync/1` and `/copnet/join/1`: a 4-byte big-endian length, then that many
//! bytes. The length is checked against the protocol's limit before a single byte of the body is
//! read, and the body is buffered as it arrives, never allocated ahead from the length a peer
//! claims: holding a frame open costs a peer the bytes it actually sent.

use std::io;

use copnet_protocol::wire::{MAX_JOIN_REQUEST_BYTES, MAX_MESSAGE_BYTES};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// Largest first allocation for a frame body; beyond it the buffer grows as bytes arrive.
const INITIAL_BUFFER: usize = 64 * 1024;

#[derive(Clone, Copy)]
pub struct FrameCodec {
    max_request: usize,
}

impl FrameCodec {
    /// `/copnet/sync/1`: requests carry documents.
    pub fn sync() -> Self {
        Self {
            max_request: MAX_MESSAGE_BYTES,
        }
    }

    /// `/copnet/join/1`: requests carry a proof and a profile (answers carry the roster), and are
    /// open to peers outside the roster.
    pub fn join() -> Self {
        Self {
            max_request: MAX_JOIN_REQUEST_BYTES,
        }
    }
}

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the limit of {max}"),
        ));
    }
    let mut buf = Vec::with_capacity(len.min(INITIAL_BUFFER));
    io.take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "frame cut short",
        ));
    }
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: Vec<u8>) -> io::Result<()> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "frame over the limit",
        ));
    }
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(&bytes).await?;
    io.close().await
}

impl libp2p::request_response::Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        read_frame(io, self.max_request).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        read_frame(io, MAX_MESSAGE_BYTES).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()> {
        write_frame(io, req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()> {
        write_frame(io, res).await
    }
}
