//! Sample files the simulator serves, one per documented `fileType`, at the paths the profile
//! gives them (`/public_files/sample.png` in the default profile), as a Tegsoft server serves
//! uploads under `https://{SERVER_IP}/public_files/` — so scenarios have a downloadable `fileUrl`
//! of each type on the simulator itself. The bytes are small and fixed; each starts with its
//! format's magic number.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::api::tegsoft::FileType;

/// A 1×1 RGB PNG (signature, IHDR, IDAT, IEND, with their CRCs).
const PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xd0, 0xaa, 0xbf, 0x02, 0x00, 0x02, 0x54, 0x01, 0x7e, 0x64, 0xbf, 0x19, 0xeb,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A one-page PDF saying "chatprobe sample"; the xref offsets are exact.
const PDF: &str = concat!(
    "%PDF-1.4\n",
    "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
    "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
    "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R ",
    "/Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n",
    "4 0 obj\n<< /Length 46 >>\nstream\nBT /F1 12 Tf 20 50 Td (chatprobe sample) Tj ET\nendstream\nendobj\n",
    "5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n",
    "xref\n0 6\n",
    "0000000000 65535 f \n",
    "0000000009 00000 n \n",
    "0000000058 00000 n \n",
    "0000000115 00000 n \n",
    "0000000241 00000 n \n",
    "0000000337 00000 n \n",
    "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n407\n%%EOF\n",
);

/// Samples of the WAV: 0.1 s at 8 kHz.
const WAV_SAMPLES: u32 = 800;
const WAV_RATE: u32 = 8000;

/// One sample file: its bytes and media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The sample of a file type.
pub fn sample(file_type: FileType) -> Sample {
    let (content_type, bytes) = match file_type {
        FileType::Image => ("image/png", PNG.to_vec()),
        FileType::Audio => ("audio/wav", wav()),
        FileType::Video => ("video/mp4", mp4()),
        FileType::Document => ("application/pdf", PDF.as_bytes().to_vec()),
    };
    Sample { content_type, bytes }
}

/// `GET` the sample of `file_type`, wherever the profile serves it.
pub(crate) async fn public_file(file_type: FileType) -> Response {
    let s = sample(file_type);
    ([(CONTENT_TYPE, s.content_type)], s.bytes).into_response()
}

/// A mono 8-bit PCM WAV holding a triangle wave.
fn wav() -> Vec<u8> {
    let mut out = Vec::with_capacity(44 + WAV_SAMPLES as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + WAV_SAMPLES).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&WAV_RATE.to_le_bytes());
    out.extend_from_slice(&WAV_RATE.to_le_bytes()); // bytes per second at one byte per sample
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&WAV_SAMPLES.to_le_bytes());
    out.extend((0..WAV_SAMPLES).map(|i| {
        let phase = (i % 32) as u8;
        if phase < 16 { 0x60 + phase * 4 } else { 0xa0 - (phase - 16) * 4 }
    }));
    out
}

/// An ISO base media file: an `ftyp` box (isom, mp41) and an `mdat` box of filler.
fn mp4() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&24u32.to_be_bytes());
    out.extend_from_slice(b"ftypisom");
    out.extend_from_slice(&0x200u32.to_be_bytes());
    out.extend_from_slice(b"isommp41");
    let filler: Vec<u8> = (0u8..=255).collect();
    out.extend_from_slice(&(8 + filler.len() as u32).to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.extend_from_slice(&filler);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_starts_with_its_magic_number() {
        let magic: [(FileType, &[u8], usize); 4] = [
            (FileType::Image, b"\x89PNG\r\n\x1a\n", 0),
            (FileType::Audio, b"WAVE", 8),
            (FileType::Video, b"ftyp", 4),
            (FileType::Document, b"%PDF-", 0),
        ];
        for (file_type, bytes, at) in magic {
            let s = sample(file_type);
            assert_eq!(&s.bytes[at..at + bytes.len()], bytes, "{file_type:?}");
        }
    }

    #[test]
    fn the_wav_header_matches_its_data() {
        let w = wav();
        assert_eq!(w.len(), 44 + WAV_SAMPLES as usize);
        assert_eq!(u32::from_le_bytes([w[4], w[5], w[6], w[7]]) as usize, w.len() - 8);
        assert_eq!(u32::from_le_bytes([w[40], w[41], w[42], w[43]]), WAV_SAMPLES);
    }

    #[test]
    fn the_pdf_xref_points_at_its_objects() {
        let offsets = [9usize, 58, 115, 241, 337];
        for (n, at) in offsets.iter().enumerate() {
            assert!(PDF[*at..].starts_with(&format!("{} 0 obj", n + 1)), "object {}", n + 1);
        }
        assert!(PDF[407..].starts_with("xref"));
        assert_eq!(PDF.find("stream\n").map(|s| PDF[s + 7..].find("\nendstream").unwrap()), Some(46));
    }
}
