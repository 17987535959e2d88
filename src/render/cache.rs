//! What a render pass keeps between frames: pipelines, views, bind groups
//! and intermediate buffers, each created once and counted.

use std::collections::HashMap;

use super::io::Surface;
use crate::error::Result;

/// How many wgpu objects a pass has created since it was made. Recording
/// the same pass on the same textures again leaves these unchanged.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    /// Shader modules and compute pipelines (one per shader variant).
    pub pipelines: usize,
    /// Buffers: parameters, palettes, weights and intermediates.
    pub buffers: usize,
    /// Texture views of the caller's textures.
    pub views: usize,
    /// Bind groups.
    pub bind_groups: usize,
}

/// Bind groups and views stay cached for this many recent texture sets, so
/// ping-ponging between a few textures allocates nothing while a resize does
/// not keep old textures alive forever.
const RECENT: usize = 8;

/// A pass's cache; its `Debug` shows what it has created.
pub(crate) struct Cache {
    device: wgpu::Device,
    created: Created,
    pipelines: HashMap<String, wgpu::ComputePipeline>,
    views: Vec<(wgpu::Texture, wgpu::TextureView)>,
    groups: Vec<(String, Vec<Owned>, wgpu::BindGroup)>,
}

/// A bound resource, kept to recognise the same bind group next frame.
#[derive(Clone, PartialEq)]
enum Owned {
    Buffer(wgpu::Buffer),
    Texture(wgpu::Texture),
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// One entry of a bind group being built.
#[derive(Clone, Copy)]
pub(crate) enum Binding<'a> {
    Buffer(&'a wgpu::Buffer),
    /// The first `bytes` of a buffer (a buffer image: the buffer may be
    /// larger than a binding may be).
    BufferRange(&'a wgpu::Buffer, u64),
    Texture(&'a wgpu::Texture),
}

/// A resource a recorded frame used, by identity (buffer images with their
/// layout): the same resources next frame mean the same pipelines and bind
/// groups, so the frame's dispatches can be recorded again as they were.
#[derive(Clone, PartialEq)]
pub(crate) enum Held {
    None,
    Texture(wgpu::Texture),
    Buffer(wgpu::Buffer, u32, u32, wgpu::TextureFormat),
}

impl Held {
    pub(crate) fn of(surface: Option<&Surface<'_>>) -> Self {
        match surface {
            None => Held::None,
            Some(Surface::Texture(t)) => Held::Texture((*t).clone()),
            Some(Surface::Buffer(b)) => Held::Buffer(b.buffer.clone(), b.width, b.height, b.format),
        }
    }
}

/// The resources a frame is recorded for (input, outputs, labels).
pub(crate) type FrameKey = [Held; 3];

/// One dispatch of a recorded frame.
pub(crate) struct Step {
    pub(crate) label: &'static str,
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) group: wgpu::BindGroup,
    pub(crate) tiles: (u32, u32),
}

/// Recent frames' dispatches by the resources they used. A frame found here
/// is recorded without building keys, sources or bind-group lists: after
/// the first frame on a set of resources a pass allocates nothing on the
/// host (wgpu's own command recording aside).
#[derive(Default)]
pub(crate) struct Frames {
    recent: Vec<(FrameKey, Vec<Step>)>,
}

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frames")
            .field("recent", &self.recent.len())
            .finish()
    }
}

impl Frames {
    /// The steps recorded for `key`, if recent.
    pub(crate) fn get(&self, key: &FrameKey) -> Option<&[Step]> {
        self.recent
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, steps)| steps.as_slice())
    }

    /// Records a newly built frame's `steps` into `encoder` and remembers
    /// them for `key`.
    pub(crate) fn record_new(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        key: FrameKey,
        steps: Vec<Step>,
    ) {
        record(encoder, &steps);
        self.insert(key, steps);
    }

    /// Remembers `steps` for `key` (the oldest of [`RECENT`] goes).
    fn insert(&mut self, key: FrameKey, steps: Vec<Step>) {
        if self.recent.len() == RECENT {
            self.recent.remove(0);
        }
        self.recent.push((key, steps));
    }
}

/// Records `steps` into `encoder`, each its own compute pass.
pub(crate) fn record(encoder: &mut wgpu::CommandEncoder, steps: &[Step]) {
    for s in steps {
        dispatch(encoder, s.label, &s.pipeline, &s.group, s.tiles);
    }
}

impl Cache {
    pub(crate) fn new(device: &wgpu::Device) -> Self {
        Self {
            device: device.clone(),
            created: Created::default(),
            pipelines: HashMap::new(),
            views: Vec::new(),
            groups: Vec::new(),
        }
    }

    pub(crate) fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub(crate) fn created(&self) -> Created {
        self.created
    }

    /// A buffer made now with `contents` (parameters, palettes, weights).
    pub(crate) fn buffer_init(
        &mut self,
        label: &str,
        contents: &[u8],
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        self.created.buffers += 1;
        let mut padded = contents.to_vec();
        padded.resize(contents.len().div_ceil(16).max(1) * 16, 0);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &padded,
                usage,
            })
    }

    /// A storage buffer of `bytes` with extra `usage`, contents undefined
    /// until a pass writes or the host clears it (intermediates, tables).
    pub(crate) fn storage(
        &mut self,
        label: &str,
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        self.created.buffers += 1;
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.div_ceil(4).max(1) * 4,
            usage: wgpu::BufferUsages::STORAGE | usage,
            mapped_at_creation: false,
        })
    }

    /// The pipeline `key` (`gpix.render.<kernel>.<variant>`), built from
    /// `source` on first use. Shader or pipeline errors come back as `Err`.
    pub(crate) fn pipeline(
        &mut self,
        key: &str,
        source: &str,
        entry: &str,
        constants: &[(&str, f64)],
    ) -> Result<wgpu::ComputePipeline> {
        if let Some(p) = self.pipelines.get(key) {
            return Ok(p.clone());
        }
        let pipeline = crate::gpu::build_pipeline(&self.device, key, source, entry, constants)?;
        self.created.pipelines += 1;
        self.pipelines.insert(key.to_string(), pipeline.clone());
        Ok(pipeline)
    }

    fn view(&mut self, texture: &wgpu::Texture) -> wgpu::TextureView {
        if let Some((_, v)) = self.views.iter().find(|(t, _)| t == texture) {
            return v.clone();
        }
        self.created.views += 1;
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            label: Some("gpix.render.view"),
            base_mip_level: 0,
            mip_level_count: Some(1),
            ..Default::default()
        });
        if self.views.len() == RECENT * 2 {
            self.views.remove(0);
        }
        self.views.push((texture.clone(), view.clone()));
        view
    }

    /// The bind group of `pipeline`'s group 0 with `entries`, cached under
    /// `key` (the pipeline variant) and the resources it binds.
    pub(crate) fn bind_group(
        &mut self,
        key: &str,
        pipeline: &wgpu::ComputePipeline,
        entries: &[(u32, Binding<'_>)],
    ) -> wgpu::BindGroup {
        let resources: Vec<Owned> = entries
            .iter()
            .map(|(_, b)| match b {
                Binding::Texture(t) => Owned::Texture((*t).clone()),
                Binding::Buffer(b) | Binding::BufferRange(b, _) => Owned::Buffer((*b).clone()),
            })
            .collect();
        if let Some((_, _, g)) = self
            .groups
            .iter()
            .find(|(k, r, _)| k == key && *r == resources)
        {
            return g.clone();
        }
        let views: Vec<Option<wgpu::TextureView>> = entries
            .iter()
            .map(|(_, b)| match b {
                Binding::Texture(t) => Some(self.view(t)),
                Binding::Buffer(_) | Binding::BufferRange(..) => None,
            })
            .collect();
        let wgpu_entries: Vec<wgpu::BindGroupEntry<'_>> = entries
            .iter()
            .zip(&views)
            .map(|((binding, b), view)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: match (b, view) {
                    (Binding::Buffer(buf), _) => buf.as_entire_binding(),
                    (Binding::BufferRange(buf, bytes), _) => {
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: buf,
                            offset: 0,
                            size: std::num::NonZeroU64::new(*bytes),
                        })
                    }
                    (Binding::Texture(_), Some(v)) => wgpu::BindingResource::TextureView(v),
                    (Binding::Texture(_), None) => unreachable!("every texture has a view"),
                },
            })
            .collect();
        self.created.bind_groups += 1;
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(key),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &wgpu_entries,
        });
        if self.groups.len() == RECENT {
            self.groups.remove(0);
        }
        self.groups
            .push((key.to_string(), resources, group.clone()));
        group
    }
}

/// Records one compute dispatch of `pipeline` with `group` into `encoder`.
pub(crate) fn dispatch(
    encoder: &mut wgpu::CommandEncoder,
    label: &str,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
    groups: (u32, u32),
) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(groups.0, groups.1, 1);
}
